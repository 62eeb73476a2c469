//! Each image's analysis, kept on disk by image id so the next audit does not export the
//! image again.
//!
//! Sound because the id is content-addressed: it is the sha256 of the image's config, which
//! names the layers' diff_ids, so one id always has the same file system, and the files this
//! module keeps are a function of that file system and of the dropcap build that read it.
//! An entry therefore records the build ([`BUILD`]) and is only used by the same one.
//!
//! An entry is a header line (`dropcap-image-cache FORMAT BUILD SHA256`) and a JSON body whose
//! sha256 the header carries. Anything that does not check out (truncated, corrupt, another
//! format or build, another image's id inside, unreadable, over [`ENTRY_LIMIT`]) is a miss and
//! is rewritten after the real read: the cache can make a run faster, never wrong, and never
//! makes it fail. Entries are written to a temp file in the same directory and renamed into
//! place, so a concurrent run sees the old entry or the new one, never half of one. There is no
//! fsync: an entry torn by a crash fails its checksum and is read again from the engine.
//!
//! Location: `$XDG_CACHE_HOME/dropcap/images/` (when absolute), else
//! `~/.cache/dropcap/images/`. `--no-cache` or `DROPCAP_NO_CACHE=1` bypasses it (no reads,
//! no writes). Removing the directory at any time is safe.

use super::layer::FileEntry;
use super::vfscap::FileCap;
use super::{sha256_hex, ImageFiles};
use crate::caps::CapSet;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const MAGIC: &str = "dropcap-image-cache";
/// Bumped whenever the body's layout changes.
const FORMAT: u32 = 1;
/// The build that wrote an entry; a reader from any other build ignores it, since a fix in
/// the layer reader may change what an image holds.
const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("DROPCAP_COMMIT"));
/// Larger entries are neither written nor read. Real images keep a few hundred interesting
/// files (a few KiB); this bounds what a hostile image or a foreign file can make a run load.
pub const ENTRY_LIMIT: u64 = 8 << 20;

static DISABLED: AtomicBool = AtomicBool::new(false);
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// `--no-cache`: this process neither reads nor writes the cache.
pub fn disable() {
    DISABLED.store(true, Ordering::Relaxed);
}

fn disabled_by_env() -> bool {
    std::env::var_os("DROPCAP_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `$XDG_CACHE_HOME/dropcap` (only an absolute one counts, as the XDG spec says), else
/// `$HOME/.cache/dropcap`; `None` when neither is set.
pub fn default_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| {
        let p = PathBuf::from(v);
        p.is_absolute().then_some(p)
    };
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })
        .map(|base| base.join("dropcap"))
}

/// The image-analysis cache in one directory.
#[derive(Debug, Clone)]
pub struct ImageCache {
    dir: PathBuf,
}

impl ImageCache {
    /// The user's cache, unless it is turned off (`--no-cache`, `DROPCAP_NO_CACHE`) or there
    /// is nowhere to put it.
    pub fn open() -> Option<ImageCache> {
        if DISABLED.load(Ordering::Relaxed) || disabled_by_env() {
            return None;
        }
        default_dir().map(ImageCache::in_dir)
    }

    /// The cache under `dir` (entries go to `dir/images/`).
    pub fn in_dir(dir: PathBuf) -> ImageCache {
        ImageCache {
            dir: dir.join("images"),
        }
    }

    /// Where the entry of image `id` lives; `None` for anything but `sha256:` and 64 hex
    /// digits, so an id can never name a path outside the directory.
    pub fn entry_path(&self, id: &str) -> Option<PathBuf> {
        let hex = id.strip_prefix("sha256:")?;
        let ok = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| self.dir.join(hex))
    }

    /// The analysis of image `id`, called `name` in messages, when a sound entry exists.
    pub fn get(&self, id: &str, name: &str) -> Option<ImageFiles> {
        let path = self.entry_path(id)?;
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .ok()?
            .take(ENTRY_LIMIT + 1)
            .read_to_end(&mut bytes)
            .ok()?;
        if bytes.len() as u64 > ENTRY_LIMIT {
            return None;
        }
        let entry = decode(&bytes)?;
        (entry.id == id).then(|| entry.into_files(name))
    }

    /// Records `files` under its id. Failures are ignored: the cache only ever saves time.
    pub fn put(&self, files: &ImageFiles) {
        let Some(id) = files.id.as_deref() else {
            return;
        };
        let Some(path) = self.entry_path(id) else {
            return;
        };
        let Some(bytes) = encode(files, id) else {
            return;
        };
        if bytes.len() as u64 > ENTRY_LIMIT {
            return;
        }
        let _ = write_replacing(&self.dir, &path, &bytes);
    }
}

/// A private temp name (pid and a counter: two runs, or two threads, never share one), then
/// a rename over the entry.
fn write_replacing(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.unwrap_or_default(),
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[derive(Serialize, Deserialize)]
struct Entry {
    id: String,
    layers: usize,
    files: Vec<File>,
    notes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct File {
    path: String,
    mode: u32,
    uid: u64,
    gid: u64,
    user: Option<String>,
    group: Option<String>,
    capability: Option<Cap>,
    capability_error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cap {
    revision: u8,
    permitted: u64,
    inheritable: u64,
    effective: bool,
    rootid: Option<u32>,
}

impl Entry {
    fn into_files(self, name: &str) -> ImageFiles {
        let files = self
            .files
            .into_iter()
            .map(|f| FileEntry {
                path: f.path,
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
                user: f.user,
                group: f.group,
                capability: f.capability.map(|c| FileCap {
                    revision: c.revision,
                    permitted: CapSet::from_bits(c.permitted),
                    inheritable: CapSet::from_bits(c.inheritable),
                    effective: c.effective,
                    rootid: c.rootid,
                }),
                capability_error: f.capability_error,
            })
            .collect();
        ImageFiles {
            image: name.to_string(),
            id: Some(self.id),
            layers: self.layers,
            files,
            notes: self.notes,
        }
    }
}

fn encode(files: &ImageFiles, id: &str) -> Option<Vec<u8>> {
    let entry = Entry {
        id: id.to_string(),
        layers: files.layers,
        files: files
            .files
            .iter()
            .map(|f| File {
                path: f.path.clone(),
                mode: f.mode,
                uid: f.uid,
                gid: f.gid,
                user: f.user.clone(),
                group: f.group.clone(),
                capability: f.capability.map(|c| Cap {
                    revision: c.revision,
                    permitted: c.permitted.bits(),
                    inheritable: c.inheritable.bits(),
                    effective: c.effective,
                    rootid: c.rootid,
                }),
                capability_error: f.capability_error.clone(),
            })
            .collect(),
        notes: files.notes.clone(),
    };
    let body = serde_json::to_vec(&entry).ok()?;
    let mut out = format!("{MAGIC} {FORMAT} {BUILD} {}\n", sha256_hex(&body)).into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

fn decode(bytes: &[u8]) -> Option<Entry> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&bytes[..newline]).ok()?;
    let body = &bytes[newline + 1..];
    let mut fields = header.split(' ');
    let ok = fields.next() == Some(MAGIC)
        && fields.next() == Some(&FORMAT.to_string())
        && fields.next() == Some(BUILD)
        && fields.next() == Some(&sha256_hex(body))
        && fields.next().is_none();
    if !ok {
        return None;
    }
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Cap as C;

    const ID: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const OTHER: &str = "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sample(id: &str) -> ImageFiles {
        let mut ping = FileEntry::new("/usr/bin/ping".into(), 0o755, 0, 0);
        ping.capability = Some(FileCap {
            revision: 2,
            permitted: CapSet::EMPTY.with(C::NET_RAW),
            inheritable: CapSet::EMPTY,
            effective: true,
            rootid: None,
        });
        let mut su = FileEntry::new("/usr/bin/su".into(), 0o4755, 0, 0);
        su.user = Some("root".into());
        let mut odd = FileEntry::new("/bin/odd".into(), 0o755, 7, 8);
        odd.capability_error = Some("security.capability is 3 bytes".into());
        ImageFiles {
            image: "name:tag".into(),
            id: Some(id.into()),
            layers: 3,
            files: vec![ping, su, odd],
            notes: vec!["layer x: path '..' leaves the root: entry skipped".into()],
        }
    }

    fn same(a: &ImageFiles, b: &ImageFiles) {
        assert_eq!(a.files, b.files);
        assert_eq!((a.id.as_deref(), a.layers), (b.id.as_deref(), b.layers));
        assert_eq!(a.notes, b.notes);
    }

    #[test]
    fn an_entry_reads_back_as_written_under_the_callers_name() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::in_dir(dir.path().into());
        assert!(cache.get(ID, "x").is_none());
        cache.put(&sample(ID));
        let got = cache.get(ID, "other:name").unwrap();
        same(&got, &sample(ID));
        assert_eq!(got.image, "other:name");
        assert!(cache.get(OTHER, "x").is_none(), "another id must miss");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("images"))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1, "no temp file is left behind");
    }

    #[test]
    fn damaged_or_foreign_entries_are_misses_and_are_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::in_dir(dir.path().into());
        cache.put(&sample(ID));
        let path = cache.entry_path(ID).unwrap();
        let good = std::fs::read(&path).unwrap();
        let newline = good.iter().position(|&b| b == b'\n').unwrap();
        let mut flipped = good.clone();
        // A digit of the uid changed: still valid JSON, caught by the checksum.
        let at = flipped.len() - 1 - flipped.iter().rev().position(|&b| b == b'7').unwrap();
        flipped[at] = b'6';
        let foreign = [
            b"dropcap-image-cache 1 0.0.0+elsewhere ".as_slice(),
            &good[good[..newline].iter().rposition(|&b| b == b' ').unwrap() + 1..],
        ]
        .concat();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("header only", good[..=newline].to_vec()),
            ("flipped", flipped),
            ("garbage", b"\x00\xff not a cache entry".to_vec()),
            ("another build", foreign),
        ];
        for (what, bytes) in cases {
            std::fs::write(&path, &bytes).unwrap();
            assert!(cache.get(ID, "x").is_none(), "{what} must be a miss");
            cache.put(&sample(ID));
            same(&cache.get(ID, "x").unwrap(), &sample(ID));
        }
        // Another image's entry copied under this id: its own id inside does not match.
        cache.put(&sample(OTHER));
        std::fs::copy(cache.entry_path(OTHER).unwrap(), &path).unwrap();
        assert!(cache.get(ID, "x").is_none());
        // Unreadable (a directory where the file should be): a miss, and no panic on put.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(cache.get(ID, "x").is_none());
        cache.put(&sample(ID));
    }

    #[test]
    fn oversized_entries_are_not_read_and_odd_ids_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::in_dir(dir.path().into());
        cache.put(&sample(ID));
        let path = cache.entry_path(ID).unwrap();
        let mut big = std::fs::read(&path).unwrap();
        big.resize(ENTRY_LIMIT as usize + 10, b' ');
        std::fs::write(&path, big).unwrap();
        assert!(cache.get(ID, "x").is_none());
        for id in ["sha256:../../etc/passwd", "sha256:ABC", "md5:0123", ""] {
            assert!(cache.entry_path(id).is_none(), "{id}");
            cache.put(&sample(id));
            assert!(cache.get(id, "x").is_none());
        }
        let no_id = ImageFiles {
            id: None,
            ..sample(ID)
        };
        cache.put(&no_id);
    }

    #[test]
    fn concurrent_writers_never_expose_half_an_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::in_dir(dir.path().into());
        cache.put(&sample(ID));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        cache.put(&sample(ID));
                    }
                });
            }
            for _ in 0..200 {
                same(&cache.get(ID, "x").unwrap(), &sample(ID));
            }
        });
    }
}
