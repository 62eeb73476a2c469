//! An unpacked root file system, walked like `getcap -r` and `find -xdev`: symbolic links are
//! not followed and other file systems mounted inside are not entered.

use super::layer::FileEntry;
use super::vfscap::FileCap;
use super::ImageError;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Every file under `root` with a capability xattr or a set-id bit, paths relative to `root`
/// and written from `/`; unreadable directories become notes, not errors.
pub fn scan(root: &Path) -> Result<(Vec<FileEntry>, Vec<String>, u64), ImageError> {
    let meta = std::fs::metadata(root).map_err(|e| ImageError::Io {
        path: root.display().to_string(),
        source: e,
    })?;
    if !meta.is_dir() {
        return Err(ImageError::Io {
            path: root.display().to_string(),
            source: std::io::Error::other("not a directory"),
        });
    }
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let mut count = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let reader = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                notes.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        for item in reader {
            let Ok(item) = item else { continue };
            let path = item.path();
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            count += 1;
            if m.is_dir() {
                if m.dev() == meta.dev() {
                    stack.push(path);
                }
                continue;
            }
            if !m.is_file() {
                continue;
            }
            let xattr = read_cap_xattr(&path);
            let mode = m.mode() & 0o7777;
            if xattr.is_none() && mode & 0o6000 == 0 {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let (capability, capability_error) = match xattr.map(|b| FileCap::decode(&b)) {
                None => (None, None),
                Some(Ok(c)) => (Some(c), None),
                Some(Err(e)) => (None, Some(e.to_string())),
            };
            files.push(FileEntry {
                capability,
                capability_error,
                ..FileEntry::new(
                    format!("/{}", rel.to_string_lossy()),
                    mode,
                    u64::from(m.uid()),
                    u64::from(m.gid()),
                )
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, notes, count))
}

/// The raw `security.capability` bytes, without following a symbolic link; `None` when the
/// file has none (or the file system has no xattrs).
fn read_cap_xattr(path: &Path) -> Option<Vec<u8>> {
    let cpath = CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = c"security.capability";
    let mut buf = vec![0u8; 64];
    // SAFETY: both names are NUL-terminated and `buf` is valid for `buf.len()` bytes.
    let n = unsafe {
        libc::lgetxattr(
            cpath.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        // ERANGE: longer than any revision; report it as the wrong length it is.
        return (std::io::Error::last_os_error().raw_os_error() == Some(libc::ERANGE))
            .then(|| vec![0u8; 65]);
    }
    buf.truncate(usize::try_from(n).ok()?);
    Some(buf)
}
