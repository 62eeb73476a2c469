//! Network health probes from a definition (Kubernetes `httpGet`, `tcpSocket`, `grpc`), sent
//! to 127.0.0.1 by a thread that has joined the container's network namespace (see
//! [`super::check::in_netns`]), so they work whatever the trial's network is, `none`
//! included. Every step is bounded by the attempt's own limit: a server that accepts and never
//! answers fails the attempt, not the trial.
//!
//! gRPC is a minimal h2c unary call written here (connection preface, SETTINGS, one HEADERS
//! frame in HPACK literals, one DATA frame; the answer's HEADERS are never decoded, only its
//! DATA frame's `HealthCheckResponse.status`), as the kubelet does it: plaintext, no TLS. A
//! full HTTP/2 stack (h2, tonic) would be a large dependency for one fixed request.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::spec::{Probe, ProbeAction};

/// One attempt of a network probe (`Shell` and `Exec` run inside the container instead, and
/// are false here).
pub fn network_ok(action: &ProbeAction, limit: Duration) -> bool {
    match action {
        ProbeAction::Http {
            https: false,
            port,
            path,
            headers,
        } => http_ok(*port, path, headers, limit),
        ProbeAction::Http {
            https: true,
            port,
            path,
            headers,
        } => https_ok(*port, path, headers, limit),
        ProbeAction::Tcp { port } => tcp_ok(*port, limit),
        ProbeAction::Grpc { port, service } => grpc_ok(*port, service, limit),
        ProbeAction::Shell(_) | ProbeAction::Exec(_) => false,
    }
}

/// When an engine would declare the workload unhealthy: every attempt after the start period
/// failed, `retries` of them, `interval` apart. Attempts are made far more often than
/// `interval` (a pass is found as soon as it happens), so failure is judged by that time, not
/// by counting attempts. A zero interval or retry count is read as the smallest sensible one.
pub fn unhealthy_after(p: &Probe) -> Duration {
    p.start_period + p.interval.max(Duration::from_secs(1)) * p.retries.max(1)
}

/// One attempt's limit: the probe's own timeout (at least 100 ms, at most 10 s: a profile
/// needs a verdict, not the longest wait a definition allows).
pub fn attempt_limit(p: &Probe) -> Duration {
    p.timeout
        .clamp(Duration::from_millis(100), Duration::from_secs(10))
}

fn connect(port: u16, until: Instant) -> Option<TcpStream> {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, left).ok()?;
    let _ = s.set_nodelay(true);
    Some(s)
}

/// Sets the socket's timeouts to what is left; false when nothing is.
fn bound(s: &TcpStream, until: Instant) -> bool {
    let left = until.saturating_duration_since(Instant::now());
    !left.is_zero()
        && s.set_read_timeout(Some(left)).is_ok()
        && s.set_write_timeout(Some(left)).is_ok()
}

/// `tcpSocket`: the port accepts a connection.
pub fn tcp_ok(port: u16, limit: Duration) -> bool {
    connect(port, Instant::now() + limit).is_some()
}

/// The request line and headers of an `httpGet` probe. A `Host` among `headers` replaces the
/// default, as the kubelet does.
pub fn http_request(path: &str, headers: &[(String, String)]) -> String {
    let mut req = format!("GET {path} HTTP/1.0\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str("Host: localhost\r\n");
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
    {
        req.push_str("User-Agent: dropcap\r\n");
    }
    for (k, v) in headers {
        // A header cannot carry a line break; one that does is dropped, not sent split.
        if !k.contains(['\r', '\n', ':']) && !v.contains(['\r', '\n']) {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    req.push_str("\r\n");
    req
}

/// Reads until the status line is complete; its code, if it is an HTTP status line.
fn read_status(r: &mut impl Read) -> Option<u16> {
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < buf.len() && !buf[..got].contains(&b'\n') {
        match r.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let head = String::from_utf8_lossy(&buf[..got]);
    let mut parts = head.split_whitespace();
    let version = parts.next()?;
    let code = parts.next()?.parse().ok()?;
    version.starts_with("HTTP/").then_some(code)
}

/// `httpGet` over plain HTTP: a status from 200 to 399 passes, as for the kubelet.
pub fn http_ok(port: u16, path: &str, headers: &[(String, String)], limit: Duration) -> bool {
    let until = Instant::now() + limit;
    let Some(mut s) = connect(port, until) else {
        return false;
    };
    if !bound(&s, until) || s.write_all(http_request(path, headers).as_bytes()).is_err() {
        return false;
    }
    matches!(read_status(&mut s), Some(200..=399))
}

/// `httpGet` with `scheme: HTTPS`: TLS without verifying the certificate (the kubelet does
/// not verify it either), then the same request.
pub fn https_ok(port: u16, path: &str, headers: &[(String, String)], limit: Duration) -> bool {
    let until = Instant::now() + limit;
    let Some(s) = connect(port, until) else {
        return false;
    };
    if !bound(&s, until) {
        return false;
    }
    let Some(mut tls) = super::tls::wrap(s) else {
        return false;
    };
    if tls
        .write_all(http_request(path, headers).as_bytes())
        .is_err()
        || tls.flush().is_err()
    {
        return false;
    }
    matches!(read_status(&mut tls), Some(200..=399))
}

// HTTP/2 frame types and flags used by the gRPC health call.
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK string literal without Huffman coding (7-bit prefix length).
fn hpack_string(out: &mut Vec<u8>, s: &str) {
    hpack_int(out, 0, 7, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// An HPACK integer with an `n`-bit prefix after the `first` bits.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// The whole client side of `grpc.health.v1.Health/Check` for `service`.
pub fn grpc_request(service: &str) -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    // Static table: 3 `:method POST`, 6 `:scheme http`; literal values (without indexing,
    // 4-bit prefix) for 4 `:path`, 1 `:authority`, 31 `content-type`; new names for `te`.
    let mut h = vec![0x83, 0x86];
    for (index, value) in [
        (4, "/grpc.health.v1.Health/Check"),
        (1, "localhost"),
        (31, "application/grpc"),
    ] {
        hpack_int(&mut h, 0x00, 4, index);
        hpack_string(&mut h, value);
    }
    h.push(0x00);
    hpack_string(&mut h, "te");
    hpack_string(&mut h, "trailers");
    out.extend(frame(HEADERS, END_HEADERS, 1, &h));
    // HealthCheckRequest { string service = 1; }, behind gRPC's 5-byte message prefix.
    let mut msg = Vec::new();
    if !service.is_empty() {
        msg.push(0x0a);
        let mut len = Vec::new();
        varint(&mut len, service.len() as u64);
        msg.extend(len);
        msg.extend_from_slice(service.as_bytes());
    }
    let mut data = vec![0];
    data.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    data.extend(msg);
    out.extend(frame(DATA, END_STREAM, 1, &data));
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `HealthCheckResponse.status` (field 1, a varint) of one gRPC message, skipping fields it
/// does not know. 1 is SERVING.
pub fn health_status(msg: &[u8]) -> Option<u64> {
    let mut i = 0;
    let read_varint = |i: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *msg.get(*i)?;
            *i += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    };
    let mut status = Some(0); // proto3: an absent field is 0, UNKNOWN.
    while i < msg.len() {
        let key = read_varint(&mut i)?;
        match (key >> 3, key & 7) {
            (1, 0) => status = Some(read_varint(&mut i)?),
            (_, 0) => {
                read_varint(&mut i)?;
            }
            (_, 2) => {
                let n = usize::try_from(read_varint(&mut i)?).ok()?;
                i = i.checked_add(n)?;
            }
            (_, 1) => i += 8,
            (_, 5) => i += 4,
            _ => return None,
        }
    }
    status
}

/// `grpc`: true when the server answers SERVING.
pub fn grpc_ok(port: u16, service: &str, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    let Some(mut s) = connect(port, until) else {
        return false;
    };
    if !bound(&s, until) || s.write_all(&grpc_request(service)).is_err() {
        return false;
    }
    grpc_answer(&mut s, until) == Some(1)
}

/// Reads frames until stream 1's first message; its health status.
fn grpc_answer(s: &mut (impl Read + Write), until: Instant) -> Option<u64> {
    let mut message: Vec<u8> = Vec::new();
    loop {
        if Instant::now() >= until {
            return None;
        }
        let mut head = [0u8; 9];
        s.read_exact(&mut head).ok()?;
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if len > 1 << 20 {
            return None;
        }
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).ok()?;
        match kind {
            SETTINGS if flags & ACK == 0 => {
                s.write_all(&frame(SETTINGS, ACK, 0, &[])).ok()?;
            }
            DATA if stream == 1 => {
                let body = if flags & PADDED != 0 {
                    let pad = usize::from(*payload.first()?);
                    payload.get(1..payload.len().checked_sub(pad)?)?.to_vec()
                } else {
                    payload
                };
                message.extend(body);
                if message.len() >= 5 {
                    let n = u32::from_be_bytes([message[1], message[2], message[3], message[4]]);
                    let n = n as usize;
                    if message[0] != 0 {
                        return None; // compressed: we never offered compression
                    }
                    if message.len() >= 5 + n {
                        return health_status(&message[5..5 + n]);
                    }
                }
                if flags & END_STREAM != 0 {
                    return None;
                }
            }
            // Trailers only (an error status) or the stream ended without a message.
            HEADERS if stream == 1 && flags & END_STREAM != 0 => return None,
            RST_STREAM | GOAWAY => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpack_integers() {
        let mut v = Vec::new();
        hpack_int(&mut v, 0, 4, 31);
        assert_eq!(v, [0x0f, 0x10]);
        let mut v = Vec::new();
        hpack_int(&mut v, 0, 5, 1337);
        assert_eq!(v, [31, 154, 10], "RFC 7541 C.1.2");
        let mut v = Vec::new();
        hpack_int(&mut v, 0, 7, 10);
        assert_eq!(v, [10]);
    }

    #[test]
    fn grpc_request_frames() {
        let r = grpc_request("svc");
        assert!(r.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        // DATA, END_STREAM, stream 1; message: uncompressed, 5 bytes, field 1 = "svc".
        assert!(r.ends_with(
            &[0, 0, 10, DATA, END_STREAM, 0, 0, 0, 1]
                .iter()
                .chain(&[0, 0, 0, 0, 5, 0x0a, 3, b's', b'v', b'c'])
                .copied()
                .collect::<Vec<u8>>()
        ));
        assert!(r.ends_with(&[0, 0, 0, 0, 5, 0x0a, 3, b's', b'v', b'c']));
        let empty = grpc_request("");
        assert!(empty.ends_with(&[0, 0, 5, DATA, END_STREAM, 0, 0, 0, 1, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn health_statuses() {
        assert_eq!(health_status(&[0x08, 0x01]), Some(1));
        assert_eq!(health_status(&[0x08, 0x02]), Some(2));
        assert_eq!(health_status(&[]), Some(0));
        assert_eq!(health_status(&[0x12, 0x01, b'x', 0x08, 0x01]), Some(1));
        assert_eq!(health_status(&[0x08]), None);
    }

    #[test]
    fn http_requests_carry_headers() {
        let r = http_request(
            "/healthz",
            &[
                ("X-Probe".into(), "1".into()),
                ("Bad".into(), "a\r\nb".into()),
            ],
        );
        assert_eq!(
            r,
            "GET /healthz HTTP/1.0\r\nHost: localhost\r\nUser-Agent: dropcap\r\nX-Probe: 1\r\n\r\n"
        );
        let r = http_request("/", &[("host".into(), "example".into())]);
        assert!(r.starts_with("GET / HTTP/1.0\r\nUser-Agent: dropcap\r\nhost: example\r\n"));
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            read_status(&mut &b"HTTP/1.1 204 No Content\r\n"[..]),
            Some(204)
        );
        assert_eq!(read_status(&mut &b"SSH-2.0-x\r\n"[..]), None);
        assert_eq!(read_status(&mut &b""[..]), None);
    }

    /// A fake h2 server's answer: SETTINGS, HEADERS, DATA with the message, trailers.
    #[test]
    fn grpc_answers_are_read_from_the_data_frame() {
        struct Duplex {
            input: std::io::Cursor<Vec<u8>>,
            output: Vec<u8>,
        }
        impl Read for Duplex {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                self.input.read(b)
            }
        }
        impl Write for Duplex {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.output.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut answer = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        answer.extend(frame(HEADERS, END_HEADERS, 1, &[0x88]));
        answer.extend(frame(DATA, 0, 1, &[0, 0, 0, 0, 2, 0x08, 0x01]));
        answer.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x88]));
        let mut d = Duplex {
            input: std::io::Cursor::new(answer),
            output: Vec::new(),
        };
        let until = Instant::now() + Duration::from_secs(1);
        assert_eq!(grpc_answer(&mut d, until), Some(1));
        assert_eq!(
            d.output,
            frame(SETTINGS, ACK, 0, &[]),
            "the server's SETTINGS are acknowledged"
        );
        let trailers_only = frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x88]);
        let mut d = Duplex {
            input: std::io::Cursor::new(trailers_only),
            output: Vec::new(),
        };
        assert_eq!(grpc_answer(&mut d, until), None);
    }
}
