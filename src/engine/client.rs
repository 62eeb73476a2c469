//! A blocking handle on one engine for code that is not async (`profile` runs its trials one
//! after another and polls between requests). It owns a small runtime and the [`Api`] the
//! live audit uses, so there is one way to reach an engine in the whole program.

use super::api::{Api, ApiError};
use super::connect::{self, EngineKind};
pub use super::lifecycle::{demux, ExecState, ImageConfig, State, Stream};
pub use super::raw::Hijacked;
use serde_json::Value;
use std::time::Duration;

pub struct Client {
    rt: tokio::runtime::Runtime,
    api: Api,
    host: String,
    kind: EngineKind,
    version: String,
}

impl Client {
    /// `host` as `--host` takes it (`None`: DOCKER_HOST, then the default socket); every
    /// request is bounded by `timeout`, except the first (`/_ping`), which must be answered
    /// within `first_answer`: a busy engine may need long for a container start, but one that
    /// does not answer a ping in that time is hung, and the user's `--timeout` says so.
    pub fn open(
        host: Option<&str>,
        timeout: Duration,
        first_answer: Duration,
    ) -> Result<Client, String> {
        let host = connect::resolve_host(host);
        // One worker drives the sockets, so any thread may send requests (trial containers
        // are removed on a thread of their own while the next trial starts).
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let docker = rt.block_on(connect::open_with(
            &host,
            first_answer.min(timeout),
            timeout,
        ))?;
        let api = Api::new(&host, &docker, timeout);
        let v = rt
            .block_on(api.version())
            .map_err(|e| format!("{host}: {e}"))?;
        let (info, kind) = connect::engine_info(&v, &host);
        Ok(Client {
            rt,
            api,
            kind,
            version: info.version,
            host,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// "docker 20.10.24", "podman 4.3.1".
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind.as_str(), self.version)
    }

    pub fn image_config(&self, name: &str) -> Result<Option<ImageConfig>, ApiError> {
        self.rt.block_on(self.api.image_config(name))
    }

    pub fn create(&self, name: &str, body: &Value) -> Result<String, ApiError> {
        self.rt.block_on(self.api.create(name, body))
    }

    pub fn start(&self, id: &str) -> Result<(), ApiError> {
        self.rt.block_on(self.api.start(id))
    }

    pub fn state(&self, id: &str) -> Result<(String, State), ApiError> {
        self.rt.block_on(self.api.state(id))
    }

    pub fn remove(&self, id: &str) -> Result<(), ApiError> {
        self.rt.block_on(self.api.remove(id))
    }

    pub fn exec(&self, id: &str, argv: &[String]) -> Result<String, ApiError> {
        self.rt.block_on(self.api.exec(id, argv))
    }

    pub fn exec_state(&self, exec_id: &str) -> Result<ExecState, ApiError> {
        self.rt.block_on(self.api.exec_state(exec_id))
    }

    pub fn attach(&self, id: &str, stdin: bool) -> Result<Hijacked, ApiError> {
        self.rt.block_on(self.api.attach(id, stdin))
    }

    pub fn volume_create(&self, name: &str, label: (&str, &str)) -> Result<(), ApiError> {
        self.rt.block_on(self.api.volume_create(name, label))
    }

    pub fn volume_remove(&self, name: &str) -> Result<(), ApiError> {
        self.rt.block_on(self.api.volume_remove(name))
    }

    pub fn network_create(&self, name: &str, label: (&str, &str)) -> Result<(), ApiError> {
        self.rt.block_on(self.api.network_create(name, label))
    }

    pub fn network_remove(&self, name: &str) -> Result<(), ApiError> {
        self.rt.block_on(self.api.network_remove(name))
    }
}
