//! Applying layer scans in order, the way overlayfs presents them: a whiteout deletes the
//! path (and what lies under it) from the layers below, an opaque directory hides everything
//! below it, and an upper layer's copy of a file replaces the lower one, xattrs and mode
//! included, whether or not the copy is itself interesting.

use super::layer::{path_hash, FileEntry, LayerScan};
use std::collections::BTreeMap;

/// The files of the merged root that carry a capability or a set-id bit, by path.
pub fn merge<'a>(layers: impl IntoIterator<Item = &'a LayerScan>) -> BTreeMap<String, FileEntry> {
    let mut merged: BTreeMap<String, FileEntry> = BTreeMap::new();
    for layer in layers {
        for dir in &layer.opaque {
            let prefix = format!("{dir}/");
            merged.retain(|path, _| !path.starts_with(&prefix));
        }
        for gone in &layer.whiteouts {
            let prefix = format!("{gone}/");
            merged.retain(|path, _| path != gone && !path.starts_with(&prefix));
        }
        merged.retain(|path, _| !layer.written.contains(&path_hash(path)));
        for (path, file) in &layer.files {
            merged.insert(path.clone(), file.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32) -> FileEntry {
        FileEntry::new(path.into(), mode, 0, 0)
    }

    fn layer(files: &[(&str, u32)]) -> LayerScan {
        let mut l = LayerScan::default();
        for (p, m) in files {
            l.files.insert(p.to_string(), file(p, *m));
        }
        l
    }

    #[test]
    fn upper_layers_win() {
        let base = layer(&[
            ("/usr/bin/su", 0o4755),
            ("/usr/bin/passwd", 0o4755),
            ("/opt/x/y", 0o2755),
        ]);
        let mut upper = layer(&[("/usr/bin/new", 0o4711)]);
        upper.written.insert(path_hash("/usr/bin/su"));
        upper.whiteouts.push("/usr/bin/passwd".into());
        upper.opaque.push("/opt/x".into());
        let m = merge([&base, &upper]);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["/usr/bin/new"]);
        // The other order: the base's files come back.
        let m = merge([&upper, &base]);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn a_whiteout_of_a_directory_removes_what_is_under_it() {
        let base = layer(&[("/srv/bin/tool", 0o4755), ("/srv/binary", 0o4755)]);
        let mut upper = LayerScan::default();
        upper.whiteouts.push("/srv/bin".into());
        let m = merge([&base, &upper]);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["/srv/binary"]);
    }
}
