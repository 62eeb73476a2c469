//! `--profile FILE`: a profile written by `dropcap profile -o FILE`, and which workloads it
//! applies to. The file records the image it was made from and, once profiles can be made
//! from a definition, that definition (`definition`: file + compose service, or file +
//! Kubernetes kind/name/container); a workload whose image differs is refused unless
//! `--force`, so a set proven for one program is never written onto another by accident.

use crate::caps::{parse_cap, CapSet};
use crate::workload::{SourceKind, Workload};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileFileError {
    #[error("{path}: {reason}")]
    Bad { path: String, reason: String },
}

pub use crate::profile::report::Definition;

#[derive(Deserialize)]
struct Raw {
    schema: String,
    target: RawTarget,
    proven: Vec<String>,
    #[serde(default)]
    definition: Option<Definition>,
}

#[derive(Deserialize)]
struct RawTarget {
    kind: String,
    image: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub path: PathBuf,
    /// `None` for a profile of a local command: only `--workload NAME --force` applies it.
    pub image: Option<String>,
    pub proven: CapSet,
    pub definition: Option<Definition>,
}

impl Profile {
    pub fn read(path: &Path) -> Result<Profile, ProfileFileError> {
        let bad = |reason: String| ProfileFileError::Bad {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(crate::sources::io_reason(&e)))?;
        let raw: Raw =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a dropcap profile: {e}")))?;
        if raw.schema != crate::profile::report::SCHEMA {
            return Err(bad(format!(
                "schema {:?}, expected {:?}",
                raw.schema,
                crate::profile::report::SCHEMA
            )));
        }
        let mut proven = CapSet::EMPTY;
        for n in &raw.proven {
            let c = parse_cap(n).map_err(|e| bad(format!("proven: {e}")))?;
            proven = proven.with(c);
        }
        let image = match raw.target.kind.as_str() {
            "image" => raw.target.image,
            _ => None,
        };
        Ok(Profile {
            path: path.to_path_buf(),
            image,
            proven,
            definition: raw.definition,
        })
    }

    /// Whether the recorded definition is this workload.
    fn defines(&self, file: &Path, w: &Workload) -> bool {
        let Some(d) = &self.definition else {
            return false;
        };
        if !same_file(&d.file, file) {
            return false;
        }
        match w.source {
            SourceKind::Compose => d.service.as_deref() == Some(w.name.as_str()),
            _ => {
                let kn = match (&d.kind, &d.name) {
                    (Some(k), Some(n)) => format!("{k}/{n}"),
                    _ => return false,
                };
                kn == w.name
                    && (d.container.is_none() || d.container.as_deref() == w.container.as_deref())
            }
        }
    }

    /// Whether to apply this profile to `w`: `Ok(true)` yes, `Err` a refusal (the image
    /// differs and `--force` was not given).
    pub fn applies(
        &self,
        file: &Path,
        w: &Workload,
        named: &[String],
        force: bool,
    ) -> Result<bool, String> {
        let chosen = if !named.is_empty() {
            names(w).iter().any(|n| named.contains(n))
        } else if self.definition.is_some() {
            self.defines(file, w)
        } else {
            return Ok(self.image.is_some() && self.image == w.image);
        };
        if !chosen {
            return Ok(false);
        }
        if self.image.is_some() && self.image == w.image || force {
            return Ok(true);
        }
        // `profile` ran the service with compose's variables interpolated; the file spells
        // the image with them (`${REGISTRY}/app:${TAG}`).
        let interpolated = w
            .image
            .as_deref()
            .filter(|i| i.contains('$'))
            .and_then(|i| crate::profile::definition::interpolate_in(file, i));
        if self.image.is_some() && self.image == interpolated {
            return Ok(true);
        }
        Err(format!(
            "profile {} was proven with image {}, but {} runs {}; refusing to apply it (--force applies it anyway)",
            self.path.display(),
            self.image.as_deref().unwrap_or("(a local command, no image)"),
            w.container.as_deref().map_or(w.name.clone(), |c| format!("{} ({c})", w.name)),
            w.image.as_deref().unwrap_or("no image")
        ))
    }
}

/// The names `--workload` accepts for a workload: the compose service or `Kind/name`, and a
/// Kubernetes container's name.
fn names(w: &Workload) -> Vec<String> {
    let mut v = vec![w.name.clone()];
    if let Some(c) = &w.container {
        v.push(c.clone());
        v.push(format!("{}/{c}", w.name));
    }
    v
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => crate::sources::display_path(a) == crate::sources::display_path(b),
    }
}
