//! A minimal HTTP/1.0 GET over the engine's socket, for the two answers bollard cannot give:
//! the `Api-Version` header of `/_ping` (agreeing on a version in 1 ms instead of the ~11 ms
//! `/version` costs dockerd, which asks containerd and runc for theirs) and libpod's inspect.
//! HTTP/1.0 makes the server close the connection after a plain, never chunked, body.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bigger answers are not what we asked for; refusing them bounds memory.
const MAX_ANSWER: u64 = 16 << 20;
/// How an answer over [`MAX_ANSWER`] is described; callers recognise it by this text.
pub(crate) const TOO_LARGE: &str = "the answer is larger than";

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value, names compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn ok_body(&self, path: &str) -> Result<&[u8], String> {
        if self.status == 200 {
            return Ok(&self.body);
        }
        let msg = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]);
        Err(format!(
            "{path}: HTTP {}: {}",
            self.status,
            super::connect::one_line(&msg)
        ))
    }
}

/// An engine address and, for `tcp://` with TLS, how to speak TLS to it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub tls: Option<std::sync::Arc<super::tls::Tls>>,
}

impl Endpoint {
    pub fn plain(host: &str) -> Endpoint {
        Endpoint {
            host: host.to_string(),
            tls: None,
        }
    }
}

/// `Err` names the problem; a server that accepts but never answers ends at `timeout`.
pub async fn get(host: &str, path: &str, timeout: std::time::Duration) -> Result<Answer, String> {
    get_via(&Endpoint::plain(host), path, timeout).await
}

/// [`get`] over TLS when the endpoint has it.
pub async fn get_via(
    endpoint: &Endpoint,
    path: &str,
    timeout: std::time::Duration,
) -> Result<Answer, String> {
    match tokio::time::timeout(timeout, get_inner(endpoint, path)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the engine at {} did not answer {path} in time",
            endpoint.host
        )),
    }
}

async fn get_inner(endpoint: &Endpoint, path: &str) -> Result<Answer, String> {
    let host = endpoint.host.as_str();
    if let (Some(tls), Some(addr)) = (&endpoint.tls, host.strip_prefix("tcp://")) {
        let addr = addr.trim_end_matches('/');
        let s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        // One request per connection: Nagle would hold the request's last bytes back.
        let _ = s.set_nodelay(true);
        let s = tls.connect(addr, s).await?;
        exchange(s, path).await
    } else if let Some(sock) = host.strip_prefix("unix://") {
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
        Err(format!("raw requests need unix:// or tcp://, not {host}"))
    }
}

/// The GET on an already connected stream; `trace` connects its own socket (see
/// `crate::trace::engine`).
pub(crate) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    path: &str,
) -> Result<Answer, String> {
    let req = format!("GET {path} HTTP/1.0\r\nHost: d\r\nAccept: application/json\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("sending {path}: {e}"))?;
    let mut raw = Vec::new();
    match (&mut s).take(MAX_ANSWER + 1).read_to_end(&mut raw).await {
        Ok(_) => {}
        // A TLS peer that closes without close_notify: HTTP/1.0 ends the body at the close
        // anyway, and a cut answer fails to decode.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(format!("reading {path}: {e}")),
    }
    if raw.len() as u64 > MAX_ANSWER {
        return Err(format!(
            "{path}: {TOO_LARGE} {} MiB (is this an engine?)",
            MAX_ANSWER >> 20
        ));
    }
    split(raw, path)
}

fn split(raw: Vec<u8>, path: &str) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{path}: malformed HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{path}: malformed HTTP status line"))?;
    let body = raw[end + 4..].to_vec();
    Ok(Answer { status, head, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let ok =
            b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n\r\n{}"
                .to_vec();
        let a = split(ok, "/p").unwrap();
        assert_eq!(a.ok_body("/p").unwrap(), b"{}");
        assert_eq!(a.header("api-version"), Some("1.41"));
        assert_eq!(a.header("Libpod-Api-Version"), None);
        let nf = b"HTTP/1.0 404 Not Found\r\n\r\n{\"cause\":\"no such container\"}".to_vec();
        assert!(split(nf, "/p")
            .unwrap()
            .ok_body("/p")
            .unwrap_err()
            .contains("404"));
        assert!(split(b"garbage".to_vec(), "/p").is_err());
        assert!(split(b"HTTP/1.0 abc\r\n\r\n".to_vec(), "/p").is_err());
    }

    /// Something on DOCKER_HOST that answers `/_ping` with an endless body is not an engine:
    /// the answer must be refused, not cut at the limit and read as a complete `200 OK`.
    #[tokio::test]
    async fn an_answer_over_the_limit_is_refused_not_truncated() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut request = [0u8; 256];
            let _ = theirs.read(&mut request).await;
            let _ = theirs
                .write_all(b"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\n\r\n")
                .await;
            let chunk = vec![b' '; 1 << 16];
            while theirs.write_all(&chunk).await.is_ok() {}
        });
        let err = exchange(ours, "/_ping").await.err().unwrap();
        assert_eq!(
            err,
            "/_ping: the answer is larger than 16 MiB (is this an engine?)"
        );
    }
}
