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

/// Checked before the first trial: a profile run takes minutes, and learning only at the end
/// that `--output` names a missing directory throws that work away.
pub fn check_destination(path: &Path) -> Result<(), ProfileError> {
    let (dir, _) = split(path)?;
    if path.is_dir() {
        return Err(ProfileError::Usage(format!(
            "--output {}: is a directory",
            path.display()
        )));
    }
    if !dir.is_dir() {
        return Err(ProfileError::Usage(format!(
            "--output {}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn split(path: &Path) -> Result<(&Path, &std::ffi::OsStr), ProfileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        ProfileError::Usage(format!("--output {}: not a file name", path.display()))
    })?;
    Ok((dir, name))
}

pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProfileError> {
    let (dir, name) = split(path)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
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

    #[test]
    fn destination_is_checked_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let check = |p: &std::path::Path| super::check_destination(p).map_err(|e| e.to_string());
        assert!(check(&dir.path().join("p.json")).is_ok());
        let e = check(&dir.path().join("nodir/p.json")).unwrap_err();
        assert!(e.ends_with("nodir does not exist"), "{e}");
        let e = check(dir.path()).unwrap_err();
        assert!(e.ends_with("is a directory"), "{e}");
        assert!(check(std::path::Path::new("..")).is_err());
    }
}
