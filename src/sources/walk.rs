//! Which files an audit reads: paths as given, directories walked recursively the way ripgrep
//! walks them (`.gitignore`, `.ignore` and hidden files skipped), `-` for standard input.
//!
//! A file named on the command line is always parsed and any problem with it is an error. A
//! file found in a directory is parsed when its extension is YAML/JSON, or when it has no
//! extension and its content looks like a manifest, so a README or a shell script next to the
//! manifests is not "broken YAML".

use super::{detect, load_bytes, load_file, load_reader, Loaded, SourceError, MAX_FILE_BYTES};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    /// Named on the command line.
    File(PathBuf),
    /// Found by walking a directory.
    Found(PathBuf),
}

/// Expands command-line paths into inputs, in a stable order (directory entries sorted by
/// name), so reports and golden tests do not depend on the file system's order.
pub fn inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<SourceError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let p = super::display_path(p);
        if !p.is_dir() {
            out.push(Input::File(p));
            continue;
        }
        let walker = ignore::WalkBuilder::new(&p)
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                    out.push(Input::Found(e.into_path()));
                }
                Ok(_) => {}
                Err(err) => errors.push(walk_error(&p, &err)),
            }
        }
    }
    (out, errors)
}

fn walk_error(root: &Path, err: &ignore::Error) -> SourceError {
    let path = match err {
        ignore::Error::WithPath { path, .. } => path.clone(),
        _ => root.to_path_buf(),
    };
    SourceError::file(&path, err.to_string())
}

/// Reads one input; `None` when a walked file is not configuration at all.
pub fn load(input: &Input) -> Option<Loaded> {
    match input {
        Input::Stdin => Some(load_reader(
            Path::new(super::STDIN_NAME),
            std::io::stdin().lock(),
        )),
        Input::File(p) => Some(load_file(p)),
        Input::Found(p) if detect::has_config_extension(p) => Some(load_file(p)),
        // Another extension (`.md`, `.sh`, `.tmpl`...) is not configuration dropcap can read.
        Input::Found(p) if p.extension().is_some() => None,
        Input::Found(p) => {
            // No extension (`stack`, `manifest`): decide by content.
            let meta = std::fs::metadata(p).ok()?;
            if meta.len() > MAX_FILE_BYTES {
                return None;
            }
            let bytes = std::fs::read(p).ok()?;
            if detect::binary_offset(&bytes).is_some() {
                return None;
            }
            let text = std::str::from_utf8(&bytes).ok()?;
            if !detect::looks_like_config(text) {
                return None;
            }
            Some(load_bytes(p, &bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_and_honours_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join(".gitignore"), "ignored.yaml\n").unwrap();
        std::fs::write(d.join("ignored.yaml"), "services: {}\n").unwrap();
        std::fs::write(d.join("b.yaml"), "services: {}\n").unwrap();
        std::fs::write(d.join("sub/a.yml"), "services: {}\n").unwrap();
        std::fs::write(d.join("README.md"), "# services: here\n").unwrap();
        std::fs::write(d.join("manifest"), "apiVersion: v1\nkind: Pod\n").unwrap();
        let (inputs, errors) = inputs(&[d.to_path_buf()]);
        assert!(errors.is_empty());
        let names: Vec<String> = inputs
            .iter()
            .map(|i| match i {
                Input::Found(p) => p.strip_prefix(d).unwrap().display().to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["README.md", "b.yaml", "manifest", "sub/a.yml"]);
        let loaded: Vec<bool> = inputs.iter().map(|i| load(i).is_some()).collect();
        assert_eq!(loaded, [false, true, true, true]);
    }

    #[test]
    fn named_paths_and_stdin_kept() {
        let (i, e) = inputs(&["-".into(), "./x.yaml".into()]);
        assert!(e.is_empty());
        assert_eq!(i, [Input::Stdin, Input::File("x.yaml".into())]);
    }
}
