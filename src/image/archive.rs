//! An image archive (`docker save`, the Engine API's image export, or an OCI image layout
//! in a tar), read in one pass. Each blob is scanned as it passes, small JSON documents are
//! kept, and the layer order is resolved from manifest.json or index.json at the end,
//! wherever in the archive they were.

use super::layer::{self, Kind, LayerScan};
use super::ImageError;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{BufReader, Read};

/// manifest.json and OCI manifests are a few KiB; anything far larger is not one of them.
const JSON_LIMIT: u64 = 4 << 20;
/// All JSON documents kept together: a crafted archive of many large blobs that begin with `{`
/// must not fill memory.
const JSON_TOTAL_LIMIT: usize = 16 << 20;

/// The layers of one image, bottom first, and what identifies it.
#[derive(Debug)]
pub struct ImageLayers {
    /// The config blob's name (docker save) or digest (OCI): the image id.
    pub config: Option<String>,
    pub tags: Vec<String>,
    /// Layer names bottom first; a name may repeat (an identical empty layer).
    pub order: Vec<String>,
    pub scans: HashMap<String, LayerScan>,
    pub notes: Vec<String>,
}

impl ImageLayers {
    pub fn in_order(&self) -> impl Iterator<Item = &LayerScan> {
        self.order.iter().filter_map(|n| self.scans.get(n))
    }
}

#[derive(Default)]
struct Seen {
    layers: HashMap<String, Result<LayerScan, ImageError>>,
    json: HashMap<String, Vec<u8>>,
    /// Symbolic links between blobs (newer `docker save` links repeated layers).
    links: HashMap<String, String>,
}

#[derive(Deserialize)]
struct SaveManifest {
    #[serde(rename = "Config")]
    config: Option<String>,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct OciDescriptor {
    digest: String,
    #[serde(default)]
    platform: Option<OciPlatform>,
}

#[derive(Deserialize)]
struct OciPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

#[derive(Deserialize)]
struct OciDocument {
    #[serde(default)]
    manifests: Vec<OciDescriptor>,
    #[serde(default)]
    layers: Option<Vec<OciDescriptor>>,
    #[serde(default)]
    config: Option<OciDescriptor>,
}

/// Reads the whole archive from `reader` (named `source` in errors) and returns the image it
/// holds; `want` picks one when a `docker save` archive holds several (by tag).
pub fn read<R: Read>(
    reader: R,
    source: &str,
    want: Option<&str>,
) -> Result<ImageLayers, ImageError> {
    read_keeping(reader, source, want, &layer::Keep::new())
}

/// [`read`], also keeping the entries of these paths (see [`layer::scan_keeping`]).
pub fn read_keeping<R: Read>(
    reader: R,
    source: &str,
    want: Option<&str>,
    keep: &layer::Keep,
) -> Result<ImageLayers, ImageError> {
    let mut archive = tar::Archive::new(super::guard::MetaGuard::new(reader));
    let mut seen = Seen::default();
    let entries = archive
        .entries()
        .map_err(|e| ImageError::archive(source, e))?;
    let mut count = 0u64;
    let mut json_total = 0usize;
    for entry in entries {
        let entry = entry.map_err(|e| {
            let message = if count == 0 {
                format!("not a tar archive ({e})")
            } else {
                format!("after {count} entries: {e}")
            };
            ImageError::Archive {
                source_name: source.to_string(),
                message,
            }
        })?;
        count += 1;
        let Ok(name) = layer::normalize(&entry.path_bytes()) else {
            continue;
        };
        let name = name.trim_start_matches('/').to_string();
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            if let Some(target) = entry.link_name_bytes() {
                let base = name.rsplit_once('/').map_or("", |(d, _)| d);
                let joined = if kind.is_symlink() && !target.starts_with(b"/") {
                    format!("{base}/{}", String::from_utf8_lossy(&target))
                } else {
                    String::from_utf8_lossy(&target).into_owned()
                };
                if let Ok(t) = layer::normalize(joined.as_bytes()) {
                    seen.links
                        .insert(name, t.trim_start_matches('/').to_string());
                }
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let mut buffered = BufReader::with_capacity(64 * 1024, entry);
        let sniffed = layer::sniff(&mut buffered).map_err(|e| ImageError::archive(source, e))?;
        let small_doc = name.ends_with(".json") || name == "oci-layout" || name == "repositories";
        if small_doc || matches!(sniffed, Kind::Json) || name.ends_with("/VERSION") {
            let mut body = Vec::new();
            buffered
                .take(JSON_LIMIT)
                .read_to_end(&mut body)
                .map_err(|e| ImageError::archive(source, e))?;
            // Only documents the layer order can come from: legacy per-layer `json` files and
            // `repositories` are not needed.
            let wanted =
                name == "manifest.json" || name == "index.json" || name.starts_with("blobs/");
            if wanted && (body.first() == Some(&b'{') || body.first() == Some(&b'[')) {
                json_total += body.len();
                if json_total > JSON_TOTAL_LIMIT {
                    return Err(ImageError::Archive {
                        source_name: source.to_string(),
                        message: format!(
                            "more than {} MiB of JSON documents: not an image archive",
                            JSON_TOTAL_LIMIT >> 20
                        ),
                    });
                }
                seen.json.insert(name, body);
            }
            continue;
        }
        let scanned = layer::scan_keeping(buffered, &name, keep);
        // A layer's own read error (not a tar, truncated inside) is the layer's problem; the
        // outer archive may still be fine. An error of the outer stream ends the read below.
        seen.layers.insert(name, scanned);
    }
    if count == 0 {
        return Err(ImageError::Archive {
            source_name: source.to_string(),
            message: "empty archive".into(),
        });
    }
    resolve(seen, source, want)
}

fn resolve(mut seen: Seen, source: &str, want: Option<&str>) -> Result<ImageLayers, ImageError> {
    let bad = |message: String| ImageError::Archive {
        source_name: source.to_string(),
        message,
    };
    let (config, tags, names) = if let Some(body) = seen.json.get("manifest.json") {
        let manifests: Vec<SaveManifest> =
            serde_json::from_slice(body).map_err(|e| bad(format!("manifest.json: {e}")))?;
        let tags_of = |m: &SaveManifest| m.repo_tags.clone().unwrap_or_default();
        let chosen = want
            .and_then(|w| {
                manifests.iter().find(|m| {
                    tags_of(m)
                        .iter()
                        .any(|t| t == w || t.starts_with(&format!("{w}:")))
                })
            })
            .or(manifests.first())
            .ok_or_else(|| bad("manifest.json lists no image".into()))?;
        (
            chosen.config.clone(),
            tags_of(chosen),
            chosen.layers.clone(),
        )
    } else if let Some(body) = seen.json.get("index.json") {
        oci_layers(&seen, body, 0).map_err(bad)?
    } else {
        return Err(bad(
            "neither manifest.json nor index.json: not a docker save or OCI image archive".into(),
        ));
    };
    let mut order = Vec::with_capacity(names.len());
    let mut scans = HashMap::new();
    let mut notes = Vec::new();
    for name in names {
        let mut key = name.trim_start_matches("./").to_string();
        for _ in 0..8 {
            match seen.links.get(&key) {
                Some(t) => key = t.clone(),
                None => break,
            }
        }
        if let Some(found) = seen.layers.remove(&key) {
            let scan = found?;
            notes.extend(scan.notes.iter().cloned());
            scans.insert(key.clone(), scan);
        } else if !scans.contains_key(&key) {
            return Err(bad(format!("layer {name} is not in the archive")));
        }
        order.push(key);
    }
    Ok(ImageLayers {
        config,
        tags,
        order,
        scans,
        notes,
    })
}

fn blob_path(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) => format!("blobs/{alg}/{hex}"),
        None => format!("blobs/sha256/{digest}"),
    }
}

type Resolved = (Option<String>, Vec<String>, Vec<String>);

/// index.json → (nested index →) manifest → layers; prefers linux/amd64 in a multi-platform
/// index, else the first entry.
fn oci_layers(seen: &Seen, body: &[u8], depth: u8) -> Result<Resolved, String> {
    if depth > 4 {
        return Err("OCI indexes nest too deep".into());
    }
    let doc: OciDocument = serde_json::from_slice(body).map_err(|e| format!("OCI index: {e}"))?;
    if let Some(layers) = doc.layers {
        let config = doc.config.map(|c| c.digest);
        return Ok((
            config,
            Vec::new(),
            layers.iter().map(|l| blob_path(&l.digest)).collect(),
        ));
    }
    let pick = doc
        .manifests
        .iter()
        .find(|m| {
            m.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
        })
        .or(doc.manifests.first())
        .ok_or("index.json lists no manifest")?;
    let path = blob_path(&pick.digest);
    let next = seen
        .json
        .get(&path)
        .ok_or_else(|| format!("manifest {} is not in the archive", pick.digest))?;
    oci_layers(seen, next, depth + 1)
}
