//! A layer's tar rebuilt from dockerd's tar-split record (`tar-split.json.gz` in the layer
//! store), the way dockerd itself rebuilds it for an image export: every header byte comes from
//! the record, so [`super::layer::scan`] sees the very entries, PAX records (file capabilities)
//! and whiteouts the export would carry. Only file bodies differ: the scan reads none but the
//! account files ([`super::layer::reads_body`]), so those come from the layer's directory
//! and every other body is zeros of the recorded length. Nothing is written anywhere.
//!
//! The record is JSON lines (vbatts/tar-split `storage.Entry`): `{"type":2,"payload":B64}` is
//! raw tar bytes (headers, padding, the end blocks), `{"type":1,"name":N,"size":S}` a file
//! body of S bytes found under the name N.

use serde::Deserialize;
use std::io::{BufRead, Read};
use std::path::PathBuf;

/// A header segment is at most a few KiB (a PAX record set); a longer line is not a record
/// dockerd wrote.
const LINE_LIMIT: u64 = 4 << 20;
const SEGMENT: u8 = 2;
const FILE: u8 = 1;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_raw: Option<String>,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    payload: Option<String>,
}

enum State {
    Bytes(Vec<u8>, usize),
    Zeros(u64),
    Body(std::io::Take<std::fs::File>, u64),
    Done,
}

/// `io::Read` of the rebuilt tar. `records` yields the decompressed JSON lines; bodies that
/// are read come from under `dir` (the layer's `diff` directory).
pub struct Replay<R: BufRead> {
    records: R,
    dir: PathBuf,
    state: State,
    line: Vec<u8>,
}

fn bad(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("tar-split: {}", message.into()),
    )
}

impl<R: BufRead> Replay<R> {
    pub fn new(records: R, dir: PathBuf) -> Replay<R> {
        Replay {
            records,
            dir,
            state: State::Bytes(Vec::new(), 0),
            line: Vec::new(),
        }
    }

    /// The next record as the state that emits it; `Done` at the end of the record.
    fn next_state(&mut self) -> std::io::Result<State> {
        loop {
            self.line.clear();
            let n = (&mut self.records)
                .take(LINE_LIMIT)
                .read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(State::Done);
            }
            if !self.line.ends_with(b"\n") && n as u64 == LINE_LIMIT {
                return Err(bad("a record line is longer than 4 MiB"));
            }
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry: Entry =
                serde_json::from_slice(&self.line).map_err(|e| bad(e.to_string()))?;
            match entry.kind {
                SEGMENT => {
                    let payload = entry.payload.unwrap_or_default();
                    let bytes = base64_decode(&payload)
                        .ok_or_else(|| bad("a segment's payload is not base64"))?;
                    if !bytes.is_empty() {
                        return Ok(State::Bytes(bytes, 0));
                    }
                }
                FILE => {
                    let size = u64::try_from(entry.size).map_err(|_| bad("negative size"))?;
                    if size == 0 {
                        continue;
                    }
                    let name = match (entry.name_raw, entry.name) {
                        (Some(raw), _) => {
                            let b = base64_decode(&raw)
                                .ok_or_else(|| bad("a raw name is not base64"))?;
                            String::from_utf8_lossy(&b).into_owned()
                        }
                        (None, Some(n)) => n,
                        (None, None) => return Err(bad("a file record without a name")),
                    };
                    let path = super::layer::normalize(name.as_bytes()).map_err(bad)?;
                    if !super::layer::reads_body(&path) {
                        return Ok(State::Zeros(size));
                    }
                    let file = std::fs::File::open(self.dir.join(&path[1..]))?;
                    return Ok(State::Body(file.take(size), size));
                }
                other => return Err(bad(format!("unknown record type {other}"))),
            }
        }
    }
}

impl<R: BufRead> Read for Replay<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                State::Done => return Ok(0),
                State::Bytes(bytes, at) if *at < bytes.len() => {
                    let n = buf.len().min(bytes.len() - *at);
                    buf[..n].copy_from_slice(&bytes[*at..*at + n]);
                    *at += n;
                    return Ok(n);
                }
                State::Zeros(left) if *left > 0 => {
                    let n = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    buf[..n].fill(0);
                    *left -= n as u64;
                    return Ok(n);
                }
                State::Body(file, left) if *left > 0 => {
                    let n = file.read(buf)?;
                    if n == 0 {
                        // The file is shorter than the layer recorded: not this layer.
                        return Err(bad(
                            "a file in the layer directory is shorter than its record",
                        ));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                _ => self.state = self.next_state()?,
            }
        }
    }
}

/// Standard base64 with padding, as Go's encoding/json writes `[]byte`.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

/// Test helpers: a tar's tar-split record, as dockerd writes it.
#[cfg(test)]
pub(crate) mod test_record {
    pub fn b64(bytes: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let mut n = 0u32;
            for (i, &b) in chunk.iter().enumerate() {
                n |= u32::from(b) << (16 - 8 * i);
            }
            for i in 0..4 {
                if i <= chunk.len() {
                    s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    /// Header bytes as segments, bodies as file records.
    pub fn record_of(bytes: &[u8]) -> String {
        let mut record = String::new();
        let mut archive = tar::Archive::new(bytes);
        let mut at = 0usize;
        for entry in archive.entries().unwrap() {
            let e = entry.unwrap();
            let start = usize::try_from(e.raw_file_position()).unwrap();
            let size = usize::try_from(e.size()).unwrap();
            let name = e.path().unwrap().display().to_string();
            record += &format!(
                "{{\"type\":2,\"payload\":\"{}\"}}\n",
                b64(&bytes[at..start])
            );
            record +=
                &format!("{{\"type\":1,\"name\":\"{name}\",\"size\":{size},\"payload\":null}}\n");
            at = start + size;
        }
        record += &format!("{{\"type\":2,\"payload\":\"{}\"}}\n", b64(&bytes[at..]));
        record
    }
}

#[cfg(test)]
mod tests {
    use super::test_record::{b64, record_of};
    use super::*;

    #[test]
    fn base64_round_trips_and_refuses_junk() {
        for len in 0..10 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 250) as u8).collect();
            assert_eq!(base64_decode(&b64(&data)).unwrap(), data, "{len}");
        }
        assert!(base64_decode("abc").is_none());
        assert!(base64_decode("a=bc").is_none());
        assert!(base64_decode("ab=c").is_none());
        assert!(base64_decode("ab!c").is_none());
    }

    /// A tar with a setuid file, a capability (PAX), a whiteout and /etc/passwd, as its
    /// tar-split record over a directory holding the account file, scans like the tar.
    #[test]
    fn a_replayed_layer_scans_like_the_tar_it_records() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        let passwd = b"root:x:0:0::/root:/bin/sh\nsvc:x:42:42::/:/bin/sh\n";
        std::fs::write(dir.path().join("etc/passwd"), passwd).unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |path: &str, mode: u32, uid: u64, body: &[u8], pax: bool| {
            if pax {
                let cap = [
                    0u8, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ];
                let mut cap = cap.to_vec();
                cap[0..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
                tar.append_pax_extensions([("SCHILY.xattr.security.capability", &cap[..])])
                    .unwrap();
            }
            let mut h = tar::Header::new_gnu();
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_size(body.len() as u64);
            h.set_cksum();
            tar.append_data(&mut h, path, body).unwrap();
        };
        add("usr/bin/su", 0o4755, 0, b"elf-su", false);
        add("usr/bin/ping", 0o755, 0, b"elf-ping-body", true);
        add("usr/bin/.wh.gone", 0o644, 0, b"", false);
        add("etc/passwd", 0o644, 0, passwd, false);
        add("home/svc/tool", 0o2755, 42, b"x", false);
        let bytes = tar.into_inner().unwrap();

        let record = record_of(&bytes);

        let mut rebuilt = Vec::new();
        Replay::new(record.as_bytes(), dir.path().into())
            .read_to_end(&mut rebuilt)
            .unwrap();
        assert_eq!(rebuilt.len(), bytes.len());
        let from_tar = super::super::layer::scan(&bytes[..], "l").unwrap();
        let replayed = super::super::layer::scan(&rebuilt[..], "l").unwrap();
        assert_eq!(replayed.files, from_tar.files);
        assert_eq!(replayed.whiteouts, from_tar.whiteouts);
        assert_eq!(replayed.written, from_tar.written);
        assert_eq!(replayed.passwd.as_deref(), Some(&passwd[..]));
        assert!(replayed.files["/usr/bin/ping"].capability.is_some());
        assert_eq!(replayed.whiteouts, ["/usr/bin/gone"]);

        // A shorter account file than recorded is an error, never a silent wrong answer.
        std::fs::write(dir.path().join("etc/passwd"), b"root").unwrap();
        let mut out = Vec::new();
        assert!(Replay::new(record.as_bytes(), dir.path().into())
            .read_to_end(&mut out)
            .is_err());
        for junk in [
            "{\"type\":9}\n",
            "not json\n",
            "{\"type\":2,\"payload\":\"%%\"}\n",
        ] {
            assert!(Replay::new(junk.as_bytes(), dir.path().into())
                .read_to_end(&mut out)
                .is_err());
        }
    }
}
