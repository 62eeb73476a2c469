//! A bound on the tar metadata entries the `tar` crate reads whole into memory: a PAX
//! extended header or a GNU long name of gigabytes would otherwise be allocated in full before
//! anything could look at it. The guard follows the stream's headers as they pass (it reads
//! nothing the archive reader does not read anyway) and fails the read at the first metadata
//! entry over [`META_LIMIT`]. Real archives keep these to a few KiB.
//!
//! It is best effort by design: where it would lose track of entry boundaries (a header whose
//! checksum does not hold, which the `tar` crate rejects anyway) it stops checking rather than
//! risk refusing a valid archive.

use std::io::{self, Read};

/// Far above any real PAX record set or long name (PATH_MAX is 4 KiB).
pub const META_LIMIT: u64 = 1 << 20;
const BLOCK: usize = 512;

enum State {
    /// Collecting a 512-byte header block.
    Header,
    /// Old GNU sparse extension blocks follow the header.
    SparseExt,
    /// Entry data (padded to whole blocks) still to pass.
    Data(u64),
}

pub struct MetaGuard<R> {
    inner: R,
    state: State,
    block: [u8; BLOCK],
    filled: usize,
    /// The body of the PAX header being passed, for its `size=` record.
    pax: Option<Vec<u8>>,
    /// Data size from the last PAX header, which applies to the next entry.
    next_size: Option<u64>,
    /// Data of the entry after the sparse extension blocks.
    pending: u64,
    active: bool,
}

impl<R: Read> MetaGuard<R> {
    pub fn new(inner: R) -> MetaGuard<R> {
        MetaGuard {
            inner,
            state: State::Header,
            block: [0; BLOCK],
            filled: 0,
            pax: None,
            next_size: None,
            pending: 0,
            active: true,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while self.active && !bytes.is_empty() {
            match self.state {
                State::Header | State::SparseExt => {
                    let take = (BLOCK - self.filled).min(bytes.len());
                    self.block[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
                    self.filled += take;
                    bytes = &bytes[take..];
                    if self.filled == BLOCK {
                        self.filled = 0;
                        if matches!(self.state, State::SparseExt) {
                            if self.block[504] == 0 {
                                self.state = data(self.pending);
                            }
                        } else {
                            self.header()?;
                        }
                    }
                }
                State::Data(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    if let Some(pax) = &mut self.pax {
                        pax.extend_from_slice(&bytes[..take]);
                    }
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.state = State::Data(left);
                    if left == 0 {
                        if let Some(pax) = self.pax.take() {
                            self.next_size = pax_size(&pax);
                        }
                        self.state = State::Header;
                    }
                }
            }
        }
        Ok(())
    }

    fn header(&mut self) -> io::Result<()> {
        let b = &self.block;
        if b.iter().all(|&x| x == 0) {
            return Ok(());
        }
        let stored = octal(&b[148..156]);
        let sum: u64 = b
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(x)
                }
            })
            .sum();
        let Some(size) = size_field(&b[124..136]).filter(|_| stored == Some(sum)) else {
            self.active = false;
            return Ok(());
        };
        let kind = b[156];
        let meta = matches!(kind, b'x' | b'g' | b'L' | b'K');
        if meta && size > META_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a tar metadata entry (type '{}') of {size} bytes, over the {} KiB any real archive needs",
                    char::from(kind),
                    META_LIMIT >> 10
                ),
            ));
        }
        let size = if meta {
            size
        } else {
            self.next_size.take().unwrap_or(size)
        };
        if kind == b'x' {
            self.pax = Some(Vec::new());
        }
        if kind == b'S' && b[482] != 0 {
            self.pending = size;
            self.state = State::SparseExt;
        } else {
            self.state = data(size);
        }
        Ok(())
    }
}

fn data(size: u64) -> State {
    let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
    if padded == 0 {
        State::Header
    } else {
        State::Data(padded)
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// Octal, or GNU's base-256 (high bit set) for sizes of 8 GiB and more.
fn size_field(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut n: u64 = 0;
        for &x in &field[4..] {
            n = n.checked_mul(256)?.checked_add(u64::from(x))?;
        }
        return Some(n);
    }
    octal(field)
}

/// The `size` record of a PAX body (`NN size=123\n`), which overrides the next header's.
fn pax_size(body: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(body);
    text.lines().find_map(|line| {
        let (_, record) = line.split_once(' ')?;
        record.strip_prefix("size=")?.trim().parse().ok()
    })
}

impl<R: Read> Read for MetaGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.feed(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> io::Result<usize> {
        let mut a = tar::Archive::new(MetaGuard::new(bytes));
        let mut n = 0;
        for e in a.entries()? {
            let mut e = e?;
            io::copy(&mut e, &mut io::sink())?;
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn real_archives_pass_with_pax_and_long_names() {
        let mut b = tar::Builder::new(Vec::new());
        let long = format!("{}/file", "d".repeat(300));
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_pax_extensions([("SCHILY.xattr.security.capability", &b"abc"[..])])
            .unwrap();
        b.append_data(&mut h, &long, &b"hello"[..]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(1000);
        h.set_mode(0o755);
        b.append_data(&mut h, "big", &[7u8; 1000][..]).unwrap();
        let bytes = b.into_inner().unwrap();
        assert_eq!(read_all(&bytes).unwrap(), 2);
    }
}
