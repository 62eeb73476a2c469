//! The profile file (`--output FILE`): the JSON report, which a later `dropcap fix` applies.
//! Written atomically (temp file in the same directory, fsync, rename) so a crash or Ctrl-C
//! never leaves half a profile where a previous good one was.

use super::report::Report;
use super::ProfileError;
use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, report: &Report) -> Result<(), ProfileError> {
    let mut json = serde_json::to_vec_pretty(report)
        .map_err(|e| ProfileError::io(path.display().to_string(), std::io::Error::other(e)))?;
    json.push(b'\n');
    write_bytes_atomic(path, &json)
}

/// Tries the write [`write_bytes_atomic`] will do at the end (a temp file next to `path`), so a
/// profile that takes minutes of trials does not end with nowhere to put its result.
pub fn check_writable(path: &Path) -> Result<(), ProfileError> {
    let bad = |why: String| ProfileError::Usage(format!("--output {}: {why}", path.display()));
    if path.is_dir() {
        return Err(bad("is a directory".into()));
    }
    let tmp = temp_name(path).map_err(|_| bad("not a file name".into()))?;
    std::fs::File::create(&tmp).map_err(|e| bad(e.to_string()))?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

fn temp_name(path: &Path) -> Result<std::path::PathBuf, ProfileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        ProfileError::Usage(format!("--output {}: not a file name", path.display()))
    })?;
    Ok(dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    )))
}

pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProfileError> {
    let tmp = temp_name(path)?;
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(ProfileError::io(format!("writing {}", path.display()), e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_atomically_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.json");
        std::fs::write(&p, "old").unwrap();
        super::write_bytes_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(super::write_bytes_atomic(&dir.path().join("nodir/x"), b"x").is_err());
    }
}
