//! What an image holds that decides whether a capability set works: files with a
//! `security.capability` xattr (which the kernel refuses to exec when the bounding set lacks
//! what they need, without any capability check a tracer could see) and setuid/setgid files
//! (which regain the bounding set unless no-new-privileges is set).
//!
//! Three readers produce the same [`ImageFiles`]: the engine's image export (streamed,
//! [`crate::engine::export`]), a `docker save` or OCI archive ([`archive`]), and an unpacked
//! root ([`rootfs`]). Nothing is ever extracted or written. [`analysis`] judges the files
//! against a set; the audit and the profile ask this module, never the other way round.

pub mod accounts;
pub mod analysis;
pub mod archive;
pub mod cache;
mod guard;
pub mod layer;
pub mod merge;
pub mod rootfs;
pub mod tarsplit;
pub mod vfscap;

pub use analysis::{analyse, Verdict, VerdictKind};
pub use layer::FileEntry;
pub use vfscap::{FileCap, VfsCapError};

use serde::Serialize;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImageError {
    #[error("{source_name}: {message}")]
    Archive {
        source_name: String,
        message: String,
    },
    #[error("layer {layer}: {message}")]
    Layer { layer: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("image {image}: {message}")]
    Engine { image: String, message: String },
}

impl ImageError {
    pub fn archive(source: &str, e: std::io::Error) -> ImageError {
        ImageError::Archive {
            source_name: source.to_string(),
            message: e.to_string(),
        }
    }
    pub fn layer(name: &str, e: std::io::Error) -> ImageError {
        ImageError::Layer {
            layer: name.to_string(),
            message: e.to_string(),
        }
    }
}

/// The interesting files of one image (or root file system), after all layers applied.
#[derive(Debug, Clone, Serialize)]
pub struct ImageFiles {
    /// What the user named: image reference, archive path or directory.
    pub image: String,
    /// The image id (config digest) when known; the live audit caches by it.
    pub id: Option<String>,
    pub layers: usize,
    pub files: Vec<FileEntry>,
    /// Entries reported instead of kept (paths escaping the root, overlong paths) and
    /// directories that could not be read.
    pub notes: Vec<String>,
}

impl ImageFiles {
    pub fn from_layers(image: &str, layers: &archive::ImageLayers) -> ImageFiles {
        let merged = merge::merge(layers.in_order());
        let mut files: Vec<FileEntry> = merged.into_values().collect();
        // The topmost copy of each account file is the one the container sees.
        let passwd = layers.in_order().filter_map(|l| l.passwd.as_deref()).last();
        let group = layers.in_order().filter_map(|l| l.group.as_deref()).last();
        accounts::name_owners(&mut files, passwd, group);
        ImageFiles {
            image: image.to_string(),
            id: layers.config.as_ref().map(|c| image_id(c)),
            layers: layers.order.len(),
            files,
            notes: layers.notes.clone(),
        }
    }

    /// Files with a capability xattr, valid or not.
    pub fn capability_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.files
            .iter()
            .filter(|f| f.capability.is_some() || f.capability_error.is_some())
    }

    pub fn setid_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.files.iter().filter(|f| f.setuid() || f.setgid())
    }
}

/// Lowercase hex sha256, the form of image ids and layer digests (after `sha256:`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `abc….json` (docker save) or `sha256:abc…` (OCI) → `sha256:abc…`, the id `docker images`
/// and the Engine API use.
fn image_id(config: &str) -> String {
    let base = config.rsplit('/').next().unwrap_or(config);
    let hex = base.trim_end_matches(".json");
    if hex.contains(':') {
        hex.to_string()
    } else {
        format!("sha256:{hex}")
    }
}

/// A `docker save` or OCI archive file (`-` for stdin).
pub fn read_tar(path: &Path, want: Option<&str>) -> Result<ImageFiles, ImageError> {
    let name = path.display().to_string();
    let layers = if name == "-" {
        archive::read(std::io::stdin().lock(), "stdin", want)?
    } else {
        let file = std::fs::File::open(path).map_err(|e| ImageError::Io {
            path: name.clone(),
            source: e,
        })?;
        archive::read(file, &name, want)?
    };
    Ok(ImageFiles::from_layers(&name, &layers))
}

/// An unpacked root file system.
pub fn read_rootfs(path: &Path) -> Result<ImageFiles, ImageError> {
    let (mut files, notes, _) = rootfs::scan(path)?;
    let read = |name: &str| std::fs::read(path.join(name)).ok();
    accounts::name_owners(
        &mut files,
        read("etc/passwd").as_deref(),
        read("etc/group").as_deref(),
    );
    Ok(ImageFiles {
        image: path.display().to_string(),
        id: None,
        layers: 0,
        files,
        notes,
    })
}
