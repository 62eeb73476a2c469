//! Creating, running and removing containers over the Engine API, for `profile`'s trials.
//! Every request goes through the capped raw client like the audit's reads, and every body
//! is small JSON both ways, so the same code speaks to dockerd and to Podman's compatible API.

use super::api::{decode, escape, query_escape, Api, ApiError};
use super::raw::{self, Answer, Hijacked};
use serde::Deserialize;
use serde_json::Value;

/// What `profile` needs of an image: what it runs and as whom.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ImageConfig {
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "User", default)]
    pub user: Option<String>,
}

#[derive(Deserialize)]
struct ImageInspect {
    #[serde(rename = "Config", default)]
    config: Option<ImageConfig>,
}

/// A container's state as far as a trial cares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct State {
    #[serde(rename = "Running", default)]
    pub running: bool,
    #[serde(rename = "Pid", default)]
    pub pid: u32,
    #[serde(rename = "ExitCode", default)]
    pub exit_code: i64,
    /// Set when the runtime could not start the process (Docker: "OCI runtime create failed").
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "OOMKilled", default)]
    pub oom_killed: bool,
    /// "created", "running", "exited", ...
    #[serde(rename = "Status", default)]
    pub status: String,
}

#[derive(Deserialize)]
struct Inspect {
    #[serde(rename = "Id", default)]
    id: String,
    #[serde(rename = "State", default)]
    state: Option<State>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "Id")]
    id: String,
}

/// An exec's progress: `None` exit code while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecState {
    pub running: bool,
    pub exit_code: Option<i64>,
}

#[derive(Deserialize)]
struct ExecInspect {
    #[serde(rename = "Running", default)]
    running: bool,
    #[serde(rename = "ExitCode", default)]
    exit_code: Option<i64>,
}

/// A 2xx answer's body, else the engine's own message in one line.
pub(super) fn accepted(answer: &Answer) -> Result<&[u8], ApiError> {
    if (200..300).contains(&answer.status) {
        return Ok(&answer.body);
    }
    #[derive(Deserialize)]
    struct Message {
        message: String,
    }
    let body = &answer.body;
    let text = serde_json::from_slice::<Message>(body)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(300)]).into());
    Err(ApiError::Failed(format!(
        "the engine answered {}: {}",
        answer.status,
        super::connect::one_line(&text)
    )))
}

/// An image reference in a path, as [`Api::image_inspect`] sends it.
fn image_path(name: &str) -> String {
    escape(name, b"-._~/:@")
}

impl Api {
    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        raw::request_via(
            &self.endpoint,
            method,
            &format!("{}{path}", self.prefix),
            bytes.as_deref(),
            self.timeout,
        )
        .await
        .map_err(ApiError::Failed)
    }

    /// `None` when the engine has no such image (it is never pulled).
    pub async fn image_config(&self, name: &str) -> Result<Option<ImageConfig>, ApiError> {
        let a = self
            .send("GET", &format!("/images/{}/json", image_path(name)), None)
            .await?;
        if a.status == 404 {
            return Ok(None);
        }
        let body = accepted(&a)?;
        let i: ImageInspect = decode(200, body)?;
        Ok(Some(i.config.unwrap_or_default()))
    }

    /// Creates a container from a full `POST /containers/create` body; returns its id.
    pub async fn create(&self, name: &str, body: &Value) -> Result<String, ApiError> {
        let a = self
            .send(
                "POST",
                &format!("/containers/create?name={}", query_escape(name)),
                Some(body),
            )
            .await?;
        let c: Created = decode(200, accepted(&a)?)?;
        Ok(c.id)
    }

    pub async fn start(&self, id: &str) -> Result<(), ApiError> {
        let a = self
            .send(
                "POST",
                &format!("/containers/{}/start", query_escape(id)),
                None,
            )
            .await?;
        // 304: already started, which is what was asked.
        if a.status == 304 {
            return Ok(());
        }
        accepted(&a).map(|_| ())
    }

    /// The container's id and state.
    pub async fn state(&self, id: &str) -> Result<(String, State), ApiError> {
        let a = self
            .send(
                "GET",
                &format!("/containers/{}/json", query_escape(id)),
                None,
            )
            .await?;
        if a.status == 404 {
            return Err(ApiError::NotFound);
        }
        let i: Inspect = decode(200, accepted(&a)?)?;
        Ok((i.id, i.state.unwrap_or_default()))
    }

    /// Kills and removes the container with its anonymous volumes; a container that is
    /// already gone is not an error.
    pub async fn remove(&self, id: &str) -> Result<(), ApiError> {
        let a = self
            .send(
                "DELETE",
                &format!("/containers/{}?force=true&v=true", query_escape(id)),
                None,
            )
            .await?;
        if a.status == 404 {
            return Ok(());
        }
        accepted(&a).map(|_| ())
    }

    /// Starts `argv` in the running container, detached, as the container's user; returns
    /// the exec id to poll with [`Api::exec_state`].
    pub async fn exec(&self, id: &str, argv: &[String]) -> Result<String, ApiError> {
        let body = serde_json::json!({
            "Cmd": argv,
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
        });
        let a = self
            .send(
                "POST",
                &format!("/containers/{}/exec", query_escape(id)),
                Some(&body),
            )
            .await?;
        let c: Created = decode(200, accepted(&a)?)?;
        let a = self
            .send(
                "POST",
                &format!("/exec/{}/start", query_escape(&c.id)),
                Some(&serde_json::json!({"Detach": true, "Tty": false})),
            )
            .await?;
        accepted(&a)?;
        Ok(c.id)
    }

    pub async fn exec_state(&self, exec_id: &str) -> Result<ExecState, ApiError> {
        let a = self
            .send(
                "GET",
                &format!("/exec/{}/json", query_escape(exec_id)),
                None,
            )
            .await?;
        let e: ExecInspect = decode(200, accepted(&a)?)?;
        Ok(ExecState {
            running: e.running,
            exit_code: if e.running { None } else { e.exit_code },
        })
    }

    /// The container's stdout and stderr (multiplexed, see [`demux`]) and, with `stdin`, its
    /// standard input, from before it starts.
    pub async fn attach(&self, id: &str, stdin: bool) -> Result<Hijacked, ApiError> {
        let path = format!(
            "{}/containers/{}/attach?stream=1&stdout=1&stderr=1&stdin={}",
            self.prefix,
            query_escape(id),
            u8::from(stdin)
        );
        raw::hijack(&self.endpoint.host, &path, self.timeout)
            .await
            .map_err(ApiError::Failed)
    }
}

/// Which stream a frame of an attached, non-TTY container belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Splits the engine's multiplexed stream (8-byte headers: stream, 3 zero bytes, big-endian
/// length) into frames, calling `sink` for each; returns when the stream ends.
pub fn demux(mut r: impl std::io::Read, mut sink: impl FnMut(Stream, &[u8])) {
    let mut head = [0u8; 8];
    let mut buf = vec![0u8; 8192];
    while r.read_exact(&mut head).is_ok() {
        let stream = if head[0] == 2 {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let mut left = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        while left > 0 {
            let n = left.min(buf.len());
            if r.read_exact(&mut buf[..n]).is_err() {
                return;
            }
            sink(stream, &buf[..n]);
            left -= n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_keep_their_shape() {
        assert_eq!(
            image_path("dropcap-test/debian:bookworm"),
            "dropcap-test/debian:bookworm"
        );
        assert_eq!(image_path("a?b#c"), "a%3Fb%23c");
        assert_eq!(image_path("x@sha256:ab"), "x@sha256:ab");
    }

    #[test]
    fn frames_are_split_by_stream() {
        let mut raw = vec![1, 0, 0, 0, 0, 0, 0, 3];
        raw.extend_from_slice(b"out");
        raw.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 4]);
        raw.extend_from_slice(b"err!");
        raw.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 9, b'x']);
        let mut got = Vec::new();
        demux(&raw[..], |s, b| got.push((s, b.to_vec())));
        assert_eq!(
            got,
            vec![
                (Stream::Stdout, b"out".to_vec()),
                (Stream::Stderr, b"err!".to_vec())
            ]
        );
    }

    #[test]
    fn error_answers_are_one_line() {
        let a = Answer::for_test(409, br#"{"message":"Conflict.\nThe name is in use"}"#);
        assert_eq!(
            accepted(&a).unwrap_err().to_string(),
            "the engine answered 409: Conflict. The name is in use"
        );
        assert!(accepted(&Answer::for_test(204, b"")).is_ok());
    }
}
