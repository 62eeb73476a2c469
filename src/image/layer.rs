//! One layer tar, read once as it streams past: only what the merge needs is kept (files
//! with a capability xattr or a setuid/setgid bit, whiteouts, and a 64-bit hash of every
//! other path the layer writes), so memory follows the number of files, not their bytes.
//! A `docker save` archive may put manifest.json after the layers, so the order the layers
//! apply in is not known while they are read; [`super::merge`] resolves it at the end.

use super::vfscap::FileCap;
use super::ImageError;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};

/// PAX record `archive/tar` (Docker, containerd) and GNU tar `--xattrs` write for the xattr.
const CAP_XATTR_PAX: &str = "SCHILY.xattr.security.capability";
const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
/// Linux's PATH_MAX: no real file has a longer path, so a longer one is reported, not kept.
const PATH_MAX: usize = 4096;

/// A file the report is about: it has a file capability or a setuid/setgid bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    pub path: String,
    /// Permission bits including setuid (0o4000), setgid (0o2000) and sticky.
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// The user and group names the tar header carries, when it does.
    pub user: Option<String>,
    pub group: Option<String>,
    pub capability: Option<FileCap>,
    /// The xattr is there but is not a capability the kernel would honour.
    pub capability_error: Option<String>,
}

fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

impl FileEntry {
    /// A file with no capability and no names yet; readers fill in what they find.
    pub fn new(path: String, mode: u32, uid: u64, gid: u64) -> FileEntry {
        FileEntry {
            path,
            mode,
            uid,
            gid,
            user: None,
            group: None,
            capability: None,
            capability_error: None,
        }
    }
    pub fn setuid(&self) -> bool {
        self.mode & 0o4000 != 0
    }
    pub fn setgid(&self) -> bool {
        self.mode & 0o2000 != 0
    }
    /// Setuid root: exec gives a non-root user every capability of the bounding set.
    pub fn setuid_root(&self) -> bool {
        self.setuid() && self.uid == 0
    }
    pub fn owner(&self) -> String {
        self.user.clone().unwrap_or_else(|| self.uid.to_string())
    }
    pub fn group_name(&self) -> String {
        self.group.clone().unwrap_or_else(|| self.gid.to_string())
    }
    /// A file with the xattr or a set-id bit; both must be reported.
    pub fn interesting(&self) -> bool {
        self.capability.is_some() || self.capability_error.is_some() || self.mode & 0o6000 != 0
    }
}

/// What one layer contributes to the merged file system.
#[derive(Debug, Default)]
pub struct LayerScan {
    pub files: BTreeMap<String, FileEntry>,
    /// Paths a `.wh.NAME` file deletes from the layers below.
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents a `.wh..wh..opq` file hides.
    pub opaque: Vec<String>,
    /// Hashes of every other path the layer writes: a copy of a lower file replaces it.
    pub written: HashSet<u64>,
    /// Entries that were reported instead of kept (hostile or overlong paths).
    pub notes: Vec<String>,
    pub entries: u64,
    /// The layer's /etc/passwd and /etc/group, to name owners the tar headers leave unnamed
    /// (`docker import` writes none).
    pub passwd: Option<Vec<u8>>,
    pub group: Option<Vec<u8>>,
}

/// The only files whose contents a scan reads (the account files that name owners); every
/// other body is skipped unread, which [`super::tarsplit`] relies on.
pub fn reads_body(path: &str) -> bool {
    path == "/etc/passwd" || path == "/etc/group"
}

/// Account files larger than this are not account files anyone uses; they are skipped.
const ACCOUNTS_LIMIT: u64 = 1 << 20;

pub fn path_hash(path: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

/// `./usr/bin/ping`, `usr/bin/ping` and `/usr/bin/ping` are one file; a path with `..`
/// would escape the root and is refused (never resolved, since nothing is written anyway).
pub fn normalize(raw: &[u8]) -> Result<String, String> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len() + 1);
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "path '{}' leaves the root",
                    crate::output::printable(&text)
                ))
            }
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    if out.len() > PATH_MAX {
        let head: String = text.chars().take(60).collect();
        return Err(format!(
            "path '{}…' is {} bytes, longer than PATH_MAX",
            crate::output::printable(&head),
            out.len()
        ));
    }
    Ok(out)
}

/// The first bytes of a stream, to tell a gzip layer, a JSON blob and a plain tar apart.
pub enum Kind {
    Gzip,
    Zstd,
    Json,
    Tar,
}

pub fn sniff<R: BufRead>(r: &mut R) -> std::io::Result<Kind> {
    let head = r.fill_buf()?;
    Ok(match head {
        [0x1f, 0x8b, ..] => Kind::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Kind::Zstd,
        [b'{', ..] => Kind::Json,
        _ => Kind::Tar,
    })
}

/// Reads a layer (plain or gzip tar) to its end. `name` is how errors refer to it.
pub fn scan<R: Read>(reader: R, name: &str) -> Result<LayerScan, ImageError> {
    scan_keeping(reader, name, &Keep::new())
}

/// Absolute paths whose entries a scan keeps whatever they are (a profile's permission fixes
/// need the owner and mode of the files a capability was used on, and of their directories).
pub type Keep = std::collections::BTreeSet<String>;

/// File-type bit [`scan_keeping`] adds to the mode of a kept directory (`S_IFDIR`): ordinary
/// entries never carry type bits, so nothing else sees it.
pub const KEPT_DIR: u32 = 0o040000;

/// [`scan`], also keeping the entries of `keep` (directories marked with [`KEPT_DIR`]).
pub fn scan_keeping<R: Read>(reader: R, name: &str, keep: &Keep) -> Result<LayerScan, ImageError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let kind = sniff(&mut buffered).map_err(|e| ImageError::layer(name, e))?;
    match kind {
        Kind::Gzip => scan_tar(flate2::bufread::MultiGzDecoder::new(buffered), name, keep),
        Kind::Zstd => Err(ImageError::Layer {
            layer: name.to_string(),
            message: "zstd-compressed layers are not supported".into(),
        }),
        Kind::Json | Kind::Tar => scan_tar(buffered, name, keep),
    }
}

fn scan_tar<R: Read>(reader: R, name: &str, keep: &Keep) -> Result<LayerScan, ImageError> {
    let mut archive = tar::Archive::new(super::guard::MetaGuard::new(reader));
    let mut scan = LayerScan::default();
    let entries = archive.entries().map_err(|e| ImageError::layer(name, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ImageError::layer(name, not_a_tar(e, scan.entries)))?;
        scan.entries += 1;
        let path = match normalize(&entry.path_bytes()) {
            Ok(p) => p,
            Err(note) => {
                scan.notes.push(format!("{name}: {note}: entry skipped"));
                continue;
            }
        };
        let (parent, base) = path.rsplit_once('/').unwrap_or(("", &path));
        if base == OPAQUE {
            scan.opaque.push(parent.to_string());
            continue;
        }
        if let Some(hidden) = base.strip_prefix(WHITEOUT) {
            scan.whiteouts.push(format!("{parent}/{hidden}"));
            continue;
        }
        let header = entry.header();
        let kind = header.entry_type();
        if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| normalize(&t))
                .transpose()
                .ok()
                .flatten();
            if let Some(file) = target.and_then(|t| scan.files.get(&t).cloned()) {
                scan.files.insert(path.clone(), FileEntry { path, ..file });
                continue;
            }
        }
        let regular = kind.is_file() || kind == tar::EntryType::Continuous;
        if regular && reads_body(&path) {
            let mut body = Vec::new();
            if (&mut entry)
                .take(ACCOUNTS_LIMIT)
                .read_to_end(&mut body)
                .is_ok()
            {
                if path == "/etc/passwd" {
                    scan.passwd = Some(body);
                } else {
                    scan.group = Some(body);
                }
            }
            scan.written.insert(path_hash(&path));
            continue;
        }
        let header = entry.header();
        let mut mode = header.mode().unwrap_or(0) & 0o7777;
        let kept = keep.contains(&path);
        if kept && kind.is_dir() {
            mode |= KEPT_DIR;
        }
        let xattr = if regular { cap_xattr(&mut entry) } else { None };
        if !kept && (!regular || (mode & 0o6000 == 0 && xattr.is_none())) {
            scan.written.insert(path_hash(&path));
            continue;
        }
        let header = entry.header();
        let (capability, capability_error) = match xattr.map(|b| FileCap::decode(&b)) {
            None => (None, None),
            Some(Ok(c)) => (Some(c), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        let name_of = |b: Option<&[u8]>| {
            b.filter(|b| !b.is_empty())
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        let file = FileEntry {
            mode,
            uid: header.uid().unwrap_or(0),
            gid: header.gid().unwrap_or(0),
            user: name_of(header.username_bytes()),
            group: name_of(header.groupname_bytes()),
            capability,
            capability_error,
            path: path.clone(),
        };
        scan.files.insert(path, file);
    }
    // No entries is a real layer: Docker saves a layer that changed nothing as an empty tar.
    Ok(scan)
}

/// The tar crate's "numeric field was not a number" on the first header means the blob is
/// not a tar at all; say so.
fn not_a_tar(e: std::io::Error, entries: u64) -> std::io::Error {
    if entries == 0 {
        std::io::Error::new(e.kind(), format!("not a tar archive ({e})"))
    } else {
        std::io::Error::new(e.kind(), format!("after {entries} entries: {e}"))
    }
}

fn cap_xattr<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<Vec<u8>> {
    let pax = entry.pax_extensions().ok()??;
    pax.filter_map(Result::ok)
        .find(|ext| ext.key_bytes() == CAP_XATTR_PAX.as_bytes())
        .map(|ext| ext.value_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_paths_are_kept_whatever_they_are_and_directories_are_marked() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |path: &str, kind: tar::EntryType, mode: u32, uid: u64| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_size(0);
            h.set_cksum();
            tar.append_data(&mut h, path, &[][..]).unwrap();
        };
        add("var/log/nginx/", tar::EntryType::Directory, 0o755, 0);
        add(
            "var/log/nginx/error.log",
            tar::EntryType::Regular,
            0o640,
            33,
        );
        add(
            "var/log/nginx/other.log",
            tar::EntryType::Regular,
            0o640,
            33,
        );
        let bytes = tar.into_inner().unwrap();
        let keep: Keep = ["/var/log/nginx", "/var/log/nginx/error.log"]
            .iter()
            .map(|p| p.to_string())
            .collect();
        let scan = scan_keeping(&bytes[..], "layer", &keep).unwrap();
        let paths: Vec<&String> = scan.files.keys().collect();
        assert_eq!(paths, ["/var/log/nginx", "/var/log/nginx/error.log"]);
        assert_eq!(scan.files["/var/log/nginx"].mode, KEPT_DIR | 0o755);
        assert_eq!(scan.files["/var/log/nginx/error.log"].mode, 0o640);
        assert_eq!(scan.files["/var/log/nginx/error.log"].uid, 33);
        // Without a keep set nothing ordinary is kept.
        assert!(scan_keeping(&bytes[..], "layer", &Keep::new())
            .unwrap()
            .files
            .is_empty());
    }

    #[test]
    fn paths_are_normalised_and_escapes_refused() {
        assert_eq!(normalize(b"./usr/bin/ping").unwrap(), "/usr/bin/ping");
        assert_eq!(normalize(b"/usr//bin/./ping").unwrap(), "/usr/bin/ping");
        assert_eq!(normalize(b"./").unwrap(), "/");
        assert!(normalize(b"../etc/passwd").is_err());
        assert!(normalize(b"usr/../../x").is_err());
        assert!(normalize("a/".repeat(3000).as_bytes()).is_err());
    }
}
