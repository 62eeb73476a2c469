//! Writing a fixed file back: through a temporary file in the same directory, fsync, and an
//! atomic rename, with the original's mode and owner, so a crash never leaves half a file.
//! A symlink is followed (the file it points at is replaced; the link stays a link). If the
//! file changed on disk since it was read (an editor saved it meanwhile), nothing is written:
//! that edit would be lost.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("{path}: changed on disk since dropcap read it; not written (run dropcap fix again)")]
    Changed { path: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl WriteError {
    /// The message without the path, for reports that name the file themselves.
    pub fn reason(&self) -> String {
        match self {
            WriteError::Changed { .. } => {
                "changed on disk since dropcap read it; not written (run dropcap fix again)".into()
            }
            WriteError::Io { reason, .. } => reason.clone(),
        }
    }
}

fn io(path: &Path, e: &std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.display().to_string(),
        reason: crate::sources::io_reason(e),
    }
}

/// Replaces `path` (whose content was `before` when read) with `after`.
pub fn replace(path: &Path, before: &[u8], after: &[u8]) -> Result<(), WriteError> {
    // The real file behind any symlinks: the temporary file must sit next to it for the
    // rename to be atomic, and renaming over the link would turn it into a plain file.
    let real: PathBuf = std::fs::canonicalize(path).map_err(|e| io(path, &e))?;
    let meta = std::fs::metadata(&real).map_err(|e| io(path, &e))?;
    let dir = real.parent().unwrap_or(Path::new("/"));
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.dropcap-fix.{}.tmp",
        name.as_deref().unwrap_or("file"),
        std::process::id()
    ));
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(after)?;
        f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        if let Err(e) = std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid())) {
            // Only root may give a file away; a user's own file keeps its owner anyway.
            if meta.uid() != effective_uid() {
                return Err(e);
            }
        }
        f.sync_all()?;
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, &e));
    }
    // The last look before the rename: the window left is the rename itself.
    match std::fs::read(&real) {
        Ok(now) if now == before => {}
        Ok(_) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(WriteError::Changed {
                path: path.display().to_string(),
            });
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(path, &e));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, &real) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, &e));
    }
    // The rename is durable once the directory is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The effective uid, from the metadata of a file this process just made.
fn effective_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mode_follows_symlinks_and_refuses_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        std::fs::write(&real, "a: 1\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink("real.yaml", &link).unwrap();
        replace(&link, b"a: 1\n", b"a: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "a: 2\n");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::metadata(&real).unwrap().mode() & 0o777, 0o640);
        let e = replace(&real, b"a: 1\n", b"a: 3\n").unwrap_err();
        assert!(matches!(e, WriteError::Changed { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "a: 2\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp left"
        );
    }
}
