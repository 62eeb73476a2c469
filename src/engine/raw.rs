//! A minimal HTTP/1.0 client over the engine's socket, for the answers bollard cannot give
//! capped: the `Api-Version` header of `/_ping` (agreeing on a version in 1 ms instead of the
//! ~11 ms `/version` costs dockerd, which asks containerd and runc for theirs), libpod's
//! inspect, every answer of the live audit, and the container lifecycle of `profile`
//! (create, start, exec, remove: small JSON bodies both ways). HTTP/1.0 makes the server
//! close the connection after a plain, never chunked, body. [`hijack`] is the one streaming
//! exchange: `attach`, which the engine turns into a raw two-way stream.

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
    #[cfg(test)]
    pub fn for_test(status: u16, body: &[u8]) -> Answer {
        Answer {
            status,
            head: String::new(),
            body: body.to_vec(),
        }
    }

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
    request_via(endpoint, "GET", path, None, timeout).await
}

/// One request with an optional JSON body, bounded like [`get`], over TLS when the endpoint
/// has it.
pub async fn request_via(
    endpoint: &Endpoint,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    timeout: std::time::Duration,
) -> Result<Answer, String> {
    let host = endpoint.host.as_str();
    let exchange = async {
        if let (Some(tls), Some(addr)) = (&endpoint.tls, host.strip_prefix("tcp://")) {
            let addr = addr.trim_end_matches('/');
            let s = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("{addr}: {e}"))?;
            // One request per connection: Nagle would hold the request's last bytes back.
            let _ = s.set_nodelay(true);
            let s = tls.connect(addr, s).await?;
            return send(s, method, path, body).await;
        }
        match connect(host).await? {
            Stream::Unix(s) => send(s, method, path, body).await,
            Stream::Tcp(s) => send(s, method, path, body).await,
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the engine at {host} did not answer {method} {path} in time"
        )),
    }
}

enum Stream {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

async fn connect(host: &str) -> Result<Stream, String> {
    if let Some(sock) = host.strip_prefix("unix://") {
        let s = tokio::net::UnixStream::connect(sock)
            .await
            .map_err(|e| format!("{sock}: {e}"))?;
        Ok(Stream::Unix(s))
    } else if let Some(addr) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        let addr = addr.trim_end_matches('/');
        let s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        Ok(Stream::Tcp(s))
    } else {
        Err(format!("raw requests need unix:// or tcp://, not {host}"))
    }
}

/// A connection the engine has handed over as a raw stream (after `attach`), as a blocking
/// std socket: its reader is a plain thread that must not depend on the runtime staying up.
pub enum Hijacked {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

impl Hijacked {
    pub fn try_clone(&self) -> std::io::Result<Hijacked> {
        Ok(match self {
            Hijacked::Unix(s) => Hijacked::Unix(s.try_clone()?),
            Hijacked::Tcp(s) => Hijacked::Tcp(s.try_clone()?),
        })
    }

    /// Ends what we send (the container's stdin sees EOF); what it writes still arrives.
    pub fn close_write(&self) {
        let _ = match self {
            Hijacked::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Hijacked::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }

    /// Ends both directions, so a thread blocked reading returns.
    pub fn close(&self) {
        let _ = match self {
            Hijacked::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Hijacked::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl std::io::Read for Hijacked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Hijacked::Unix(s) => s.read(buf),
            Hijacked::Tcp(s) => s.read(buf),
        }
    }
}

impl std::io::Write for Hijacked {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Hijacked::Unix(s) => s.write(buf),
            Hijacked::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `POST path` with `Upgrade: tcp`, as the docker CLI attaches: after the answer's head
/// (`101 UPGRADED`, or `200` from engines that do not say so) the connection carries the
/// container's streams. The head is read byte by byte so no stream byte is swallowed.
pub async fn hijack(
    host: &str,
    path: &str,
    timeout: std::time::Duration,
) -> Result<Hijacked, String> {
    async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
        s: &mut S,
        path: &str,
    ) -> Result<(), String> {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        );
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("sending {path}: {e}"))?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 16 << 10 {
                return Err(format!("{path}: the answer's head is too long"));
            }
            match s.read(&mut byte).await {
                Ok(0) => return Err(format!("{path}: the engine closed the connection")),
                Ok(_) => head.push(byte[0]),
                Err(e) => return Err(format!("reading {path}: {e}")),
            }
        }
        let answer = split(head, path)?;
        if answer.status == 101 || answer.status == 200 {
            return Ok(());
        }
        // The engine's reason is in the body (`{"message": ...}`), bounded by its length.
        let len: usize = answer
            .header("Content-Length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0)
            .min(4096);
        let mut body = vec![0u8; len];
        let _ = s.read_exact(&mut body).await;
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        let why = serde_json::from_slice::<Message>(&body)
            .map(|m| m.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
        Err(format!(
            "the engine answered {}: {}",
            answer.status,
            super::connect::one_line(&why)
        ))
    }
    let exchange = async {
        match connect(host).await? {
            Stream::Unix(mut s) => {
                upgrade(&mut s, path).await?;
                let s = s.into_std().map_err(|e| e.to_string())?;
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                Ok(Hijacked::Unix(s))
            }
            Stream::Tcp(mut s) => {
                upgrade(&mut s, path).await?;
                let s = s.into_std().map_err(|e| e.to_string())?;
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                Ok(Hijacked::Tcp(s))
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the engine at {host} did not answer POST {path} in time"
        )),
    }
}

/// The GET on an already connected stream; `trace` connects its own socket (see
/// `crate::trace::engine`).
pub(crate) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: S,
    path: &str,
) -> Result<Answer, String> {
    send(s, "GET", path, None).await
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<Answer, String> {
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: d\r\nAccept: application/json\r\n");
    match body {
        Some(b) => req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            b.len()
        )),
        None if method == "GET" => req.push_str("\r\n"),
        None => req.push_str("Content-Length: 0\r\n\r\n"),
    }
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    s.write_all(&bytes)
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
