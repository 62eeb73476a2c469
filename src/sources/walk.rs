//! Which files an audit reads: paths as given, directories walked recursively the way ripgrep
//! walks them (`.gitignore`, `.ignore` and hidden files skipped), `-` for standard input.
//!
//! A file named on the command line is always parsed and any problem with it is an error. A
//! file found in a directory is parsed when its extension is YAML/JSON, or when it has no
//! extension and its content looks like a manifest, so a README or a shell script next to the
//! manifests is not "broken YAML".

use super::{detect, load_bytes, load_file, load_reader, Loaded, SourceError, MAX_FILE_BYTES};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    /// Named on the command line.
    File(PathBuf),
    /// Found by walking a directory.
    Found(PathBuf),
}

/// What a directory walk left out on purpose, so the user hears about it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// The directory named on the command line.
    pub root: PathBuf,
    /// YAML/JSON files under hidden files or directories (`.github/`, `.devcontainer/`...).
    pub files: usize,
    /// The first one, as an example.
    pub example: Option<PathBuf>,
}

/// Expands command-line paths into inputs, in a stable order (directory entries sorted by
/// name), so reports and golden tests do not depend on the file system's order.
pub fn inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<SourceError>) {
    let (i, e, _) = inputs_with(paths, false);
    (i, e)
}

/// [`inputs`], optionally with hidden files and directories; without them, how many
/// YAML/JSON files each directory hid (one project kept 44 of its 47 workloads under a
/// hidden directory, and a silent skip looked like a clean audit).
pub fn inputs_with(
    paths: &[PathBuf],
    include_hidden: bool,
) -> (Vec<Input>, Vec<SourceError>, Vec<Hidden>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut hidden = Vec::new();
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
        let mut skipped = Hidden {
            root: p.clone(),
            ..Hidden::default()
        };
        // Hidden entries are walked (to count them) but version-control internals never are.
        let walker = ignore::WalkBuilder::new(&p)
            .require_git(false)
            .hidden(false)
            .filter_entry(|e| {
                !(e.depth() > 0
                    && e.file_type().is_some_and(|t| t.is_dir())
                    && matches!(e.file_name().to_str(), Some(".git" | ".hg" | ".svn")))
            })
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                    let path = super::display_path(e.path());
                    let is_hidden = e.path().strip_prefix(&p).is_ok_and(|rel| {
                        rel.components()
                            .any(|c| c.as_os_str().to_str().is_some_and(|n| n.starts_with('.')))
                    });
                    if is_hidden && !include_hidden {
                        if detect::has_config_extension(&path) {
                            skipped.files += 1;
                            skipped.example.get_or_insert(path);
                        }
                        continue;
                    }
                    out.push(Input::Found(path));
                }
                Ok(_) => {}
                Err(err) => errors.push(walk_error(&p, &err)),
            }
        }
        if skipped.files > 0 {
            hidden.push(skipped);
        }
    }
    (out, errors, hidden)
}

/// The walker's errors already carry the path ("d: IO error for operation on d: ..."); the
/// report names it once and gives the OS reason, like an unreadable named file.
fn walk_error(root: &Path, err: &ignore::Error) -> SourceError {
    let (path, inner) = match err {
        ignore::Error::WithPath { path, err } => (path.clone(), err.as_ref()),
        _ => (root.to_path_buf(), err),
    };
    let reason = match inner.io_error() {
        Some(io) => os_reason(io),
        None => inner.to_string(),
    };
    SourceError::file(&path, reason)
}

/// walkdir wraps the OS error in its own, whose message repeats the path; the OS error is
/// further down the source chain.
fn os_reason(io: &std::io::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(io);
    while let Some(e) = cur {
        if let Some(code) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.raw_os_error())
        {
            return super::io_reason(&std::io::Error::from_raw_os_error(code));
        }
        cur = e.source();
    }
    super::io_reason(io)
}

/// Reads one input; `None` when a walked file is not configuration dropcap can read.
///
/// Files found in a directory get the benefit of the doubt that ripgrep gives: binary files
/// are skipped, and a file that fails to parse is reported only when it looks like a manifest
/// or compose file (a `tsconfig.json` with comments is not dropcap's business). Helm templates
/// (`{{ ... }}`) are skipped with a note: only their rendered output can be audited.
pub fn load(input: &Input) -> Option<Loaded> {
    let p = match input {
        Input::Stdin => {
            let name = Path::new(super::STDIN_NAME);
            return Some(template_hint(load_reader(name, std::io::stdin().lock())));
        }
        Input::File(p) => return Some(template_hint(load_file(p))),
        Input::Found(p) => p,
    };
    // Another extension (`.md`, `.sh`, `.tmpl`...) is not configuration dropcap can read;
    // no extension (`stack`, `manifest`) is decided by content.
    let by_name = detect::has_config_extension(p);
    if !by_name && p.extension().is_some() {
        return None;
    }
    let meta = std::fs::metadata(p).ok()?;
    if meta.len() > MAX_FILE_BYTES {
        return Some(load_file(p));
    }
    // Bounded even so: files under /proc or /sys claim length 0 and can hold gigabytes.
    let mut bytes = Vec::new();
    let read =
        std::fs::File::open(p).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if read.is_err() {
        return Some(load_file(p));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // Not read again: a stream would give only its rest the second time.
        return Some(load_reader(p, bytes.as_slice()));
    }
    if detect::binary_offset(&bytes).is_some() {
        return None;
    }
    let text = String::from_utf8_lossy(&bytes);
    let looks = detect::looks_like_config(&text);
    if !by_name && !looks {
        return None;
    }
    let mut loaded = load_bytes(p, &bytes);
    if !loaded.errors.is_empty() && loaded.workloads.is_empty() {
        if loaded.template {
            loaded.errors.clear();
            loaded.notes.push(format!(
                "{}: skipped: a template ({{{{ ... }}}}); audit its rendered output, e.g. `helm template CHART | dropcap audit -`",
                p.display()
            ));
        } else if !looks {
            return None;
        }
    }
    Some(loaded)
}

/// A named file or stdin that fails to parse because it is a template gets a hint.
fn template_hint(mut loaded: Loaded) -> Loaded {
    if loaded.template && loaded.workloads.is_empty() {
        for e in &mut loaded.errors {
            e.message.push_str(
                " (a Helm template? render it first: `helm template CHART | dropcap audit -`)",
            );
        }
    }
    loaded
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
    fn walk_errors_name_the_path_once() {
        // What walkdir hands over: an io::Error wrapping its own error that names the path.
        #[derive(Debug)]
        struct Walk(std::io::Error);
        impl std::fmt::Display for Walk {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "IO error for operation on d/sub: {}", self.0)
            }
        }
        impl std::error::Error for Walk {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            Walk(std::io::Error::from_raw_os_error(libc::EACCES)),
        );
        let err = ignore::Error::WithPath {
            path: "d/sub".into(),
            err: Box::new(ignore::Error::Io(io)),
        };
        let e = walk_error(Path::new("d"), &err);
        assert_eq!(
            (e.path.to_str().unwrap(), e.message.as_str()),
            ("d/sub", "Permission denied")
        );
    }

    #[test]
    fn walked_file_that_lies_about_its_size_is_bounded() {
        // Like a /proc or /sys file: length 0 in its metadata, more than the cap when read.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("manifest");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(writer_path)
                .unwrap();
            let chunk = vec![b'a'; 1 << 20];
            for _ in 0..=(MAX_FILE_BYTES >> 20) {
                if f.write_all(&chunk).is_err() {
                    break; // the reader stopped at the cap
                }
            }
        });
        let loaded = load(&Input::Found(fifo)).expect("reported");
        writer.join().unwrap();
        assert!(loaded.workloads.is_empty());
        assert!(
            loaded.errors[0].message.contains("larger than 64 MiB"),
            "{:?}",
            loaded.errors
        );
    }

    #[test]
    fn named_paths_and_stdin_kept() {
        let (i, e) = inputs(&["-".into(), "./x.yaml".into()]);
        assert!(e.is_empty());
        assert_eq!(i, [Input::Stdin, Input::File("x.yaml".into())]);
    }
}
