//! The Engine API answers the live audit and `ps` read (version, container list, inspect),
//! fetched through the raw client so that each is capped at 16 MiB like `/_ping` and `trace`'s
//! inspect: bollard reads these bodies whole, without any limit, and an engine (or anything
//! listening on its socket) that streams one without end would fill memory before
//! `--timeout` ends it.
//!
//! bollard still opens the connection ([`super::connect::open`]): its errors say best why an
//! engine cannot be reached, and it settles the API version the paths below use.

use super::raw;
use bollard::models::{ContainerInspectResponse, ContainerSummary, ImageInspect, SystemVersion};
use bollard::Docker;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;

/// Why a request gave no answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 404: the container went away between the list and its inspect.
    NotFound,
    /// Anything else, said in one line.
    Failed(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::NotFound => f.write_str("the engine answered 404: not found"),
            ApiError::Failed(m) => f.write_str(m),
        }
    }
}

/// One engine at one API version.
pub struct Api {
    pub(super) endpoint: raw::Endpoint,
    /// `/v1.41`: the version the opened client settled on.
    pub(super) prefix: String,
    pub(super) timeout: Duration,
}

impl Api {
    pub fn new(host: &str, docker: &Docker, timeout: Duration) -> Api {
        Api::at(raw::Endpoint::plain(host), docker.client_version(), timeout)
    }

    /// An engine reached through `endpoint` (TLS or not) at API version `v`.
    pub fn at(endpoint: raw::Endpoint, v: bollard::ClientVersion, timeout: Duration) -> Api {
        Api {
            endpoint,
            prefix: format!("/v{}.{}", v.major_version, v.minor_version),
            timeout,
        }
    }

    pub async fn version(&self) -> Result<SystemVersion, ApiError> {
        self.get("/version").await
    }

    /// `GET /containers/json` with `docker ps --filter`'s filters.
    pub async fn list(
        &self,
        all: bool,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<Vec<ContainerSummary>, ApiError> {
        let mut path = format!("/containers/json?all={all}");
        if !filters.is_empty() {
            let json = serde_json::to_string(filters)
                .map_err(|e| ApiError::Failed(format!("encoding filters: {e}")))?;
            path.push_str("&filters=");
            path.push_str(&query_escape(&json));
        }
        self.get(&path).await
    }

    pub async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, ApiError> {
        self.get(&format!("/containers/{}/json", query_escape(id)))
            .await
    }

    /// `GET /images/{name}/json`: a reference (`nginx:1.27`, `registry:5000/a/b@sha256:…`)
    /// or an id. The reference's `/`, `:` and `@` stay as they are: the engine routes the
    /// whole rest of the path as the name.
    pub async fn image_inspect(&self, name: &str) -> Result<ImageInspect, ApiError> {
        self.get(&format!("/images/{}/json", escape(name, b"-._~/:@")))
            .await
    }

    pub(super) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let full = format!("{}{path}", self.prefix);
        let answer = raw::get_via(&self.endpoint, &full, self.timeout)
            .await
            .map_err(ApiError::Failed)?;
        decode(answer.status, &answer.body)
    }
}

/// The body as `T`, or the engine's own message for an error status (`{"message": ...}`).
pub(super) fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiError> {
    if status == 404 {
        return Err(ApiError::NotFound);
    }
    if status != 200 {
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        let text = serde_json::from_slice::<Message>(body)
            .map(|m| m.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(300)]).into());
        return Err(ApiError::Failed(format!(
            "the engine answered {status}: {}",
            super::connect::one_line(&text)
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::Failed(format!(
            "malformed answer from the engine: {}",
            super::connect::one_line(&e.to_string())
        ))
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for a query value or a
/// path segment.
pub(super) fn query_escape(s: &str) -> String {
    escape(s, b"-._~")
}

/// Percent-encodes every byte but ASCII letters, digits and `keep`.
pub(super) fn escape(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies() {
        let list: Vec<ContainerSummary> = decode(200, br#"[{"Id":"a"}]"#).unwrap();
        assert_eq!(list[0].id.as_deref(), Some("a"));
        assert_eq!(
            decode::<ContainerInspectResponse>(404, b"{}").unwrap_err(),
            ApiError::NotFound
        );
        assert_eq!(
            decode::<SystemVersion>(500, br#"{"message":"boom\nagain"}"#)
                .unwrap_err()
                .to_string(),
            "the engine answered 500: boom again"
        );
        let e = decode::<ContainerInspectResponse>(200, br#"{"Id": 5"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("malformed answer from the engine: "),
            "{e}"
        );
    }

    #[test]
    fn filters_are_escaped() {
        assert_eq!(
            query_escape(r#"{"label":["a=b c"]}"#),
            "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D"
        );
    }
}
