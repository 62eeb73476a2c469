//! Podman's own (libpod) inspect, the only place Podman states a container's real
//! `BoundingCaps` / `EffectiveCaps`.
//!
//! bollard speaks only the Docker API and its typed inspect cannot hold libpod's answer, so this
//! is one small HTTP/1.0 GET: HTTP/1.0 makes the server close the connection after a plain
//! (never chunked) body, which keeps the client trivial.

use crate::caps::{parse_cap, CapSet};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bigger answers are not a container inspect; refusing them bounds memory.
const MAX_ANSWER: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
struct LibpodInspect {
    #[serde(rename = "BoundingCaps")]
    bounding: Option<Vec<String>>,
    #[serde(rename = "EffectiveCaps")]
    effective: Option<Vec<String>>,
}

/// The sets Podman reports for one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodmanCaps {
    pub bounding: CapSet,
    pub effective: Option<CapSet>,
}

pub async fn inspect_caps(host: &str, id: &str) -> Result<PodmanCaps, String> {
    let path = format!("/v4.0.0/libpod/containers/{id}/json");
    let body = get(host, &path).await?;
    parse(&body)
}

fn parse(body: &[u8]) -> Result<PodmanCaps, String> {
    let v: LibpodInspect =
        serde_json::from_slice(body).map_err(|e| format!("malformed libpod inspect: {e}"))?;
    let set = |names: &[String]| -> Result<CapSet, String> {
        names.iter().try_fold(CapSet::EMPTY, |acc, n| {
            parse_cap(n)
                .map(|c| acc.with(c))
                .map_err(|_| format!("libpod inspect names an unknown capability '{n}'"))
        })
    };
    let bounding = set(v
        .bounding
        .as_deref()
        .ok_or("libpod inspect has no BoundingCaps")?)?;
    let effective = v.effective.as_deref().map(set).transpose()?;
    Ok(PodmanCaps {
        bounding,
        effective,
    })
}

async fn get(host: &str, path: &str) -> Result<Vec<u8>, String> {
    if let Some(sock) = host.strip_prefix("unix://") {
        let s = tokio::net::UnixStream::connect(sock)
            .await
            .map_err(|e| format!("{sock}: {e}"))?;
        exchange(s, path).await
    } else if let Some(addr) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let addr = addr.trim_end_matches('/');
        let s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        exchange(s, path).await
    } else {
        Err(format!(
            "libpod requests need unix:// or tcp://, not {host}"
        ))
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    path: &str,
) -> Result<Vec<u8>, String> {
    let req = format!("GET {path} HTTP/1.0\r\nHost: d\r\nAccept: application/json\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("sending {path}: {e}"))?;
    let mut raw = Vec::new();
    (&mut s)
        .take(MAX_ANSWER)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("reading {path}: {e}"))?;
    split_response(&raw, path).map(<[u8]>::to_vec)
}

fn split_response<'a>(raw: &'a [u8], path: &str) -> Result<&'a [u8], String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{path}: malformed HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{path}: malformed HTTP status line"))?;
    let body = &raw[end + 4..];
    if status != 200 {
        let msg = String::from_utf8_lossy(&body[..body.len().min(300)]);
        return Err(format!(
            "{path}: HTTP {status}: {}",
            super::connect::one_line(&msg)
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap;

    #[test]
    fn parses_podman_answer() {
        let body = br#"{"Id":"x","EffectiveCaps":["CAP_CHOWN","CAP_NET_RAW"],"BoundingCaps":["CAP_CHOWN","CAP_NET_RAW"],"HostConfig":{}}"#;
        let c = parse(body).unwrap();
        assert_eq!(
            c.bounding,
            CapSet::EMPTY.with(Cap::CHOWN).with(Cap::NET_RAW)
        );
        assert_eq!(c.effective, Some(c.bounding));
        assert!(parse(br#"{"BoundingCaps":["CAP_BOGUS"]}"#).is_err());
        assert!(parse(br#"{"Id":"x"}"#).is_err());
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn http_answers() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}";
        assert_eq!(split_response(ok, "/p").unwrap(), b"{}");
        let nf = b"HTTP/1.0 404 Not Found\r\n\r\n{\"cause\":\"no such container\"}";
        assert!(split_response(nf, "/p").unwrap_err().contains("404"));
        assert!(split_response(b"garbage", "/p").is_err());
    }
}
