//! An image read from a local dockerd's own layer store instead of its image export.
//!
//! The export makes dockerd read every byte of every layer and push it through the socket
//! (about 40 ms for a 5 MB image, seconds for a large one), though the audit needs only the
//! tar headers. dockerd rebuilds each layer's tar for the export from the layer's tar-split
//! record and its overlay2 directory; [`crate::image::tarsplit`] rebuilds the same headers
//! from the same record, without the bodies, so the scan sees what the export would carry.
//!
//! Only for a data root proven to belong to the dockerd behind the socket
//! ([`super::local::verified_root`]) and only when every step checks out: the config's sha256
//! is the image id, the layer chain ids (`sha256(parent + " " + diff_id)`) lead to layer
//! directories whose `diff` names the expected diff_id, each has a cache-id with a `diff`
//! directory under `overlay2/` and a tar-split record. Anything else (another storage driver,
//! a layer without a record, an entry the scan only notes) is a [`Fallback`]: the caller
//! exports the image as before.

use crate::image::archive::ImageLayers;
use crate::image::layer::{self, Keep};
use crate::image::{sha256_hex, tarsplit, ImageFiles};
use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::Path;

/// Image configs are a few KiB; this bounds what a stray file can make the read load.
const CONFIG_LIMIT: u64 = 16 << 20;
const DRIVER: &str = "overlay2";

/// Why the layer store was not used; the image is exported instead.
#[derive(Debug)]
pub struct Fallback(pub String);

fn fallback(why: impl Into<String>) -> Fallback {
    Fallback(why.into())
}

/// `sha256:` and 64 lowercase hex digits: the only digests that name a path here.
fn hex_of(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>, Fallback> {
    let mut out = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut out))
        .map_err(|e| fallback(format!("{}: {e}", path.display())))?;
    if out.len() as u64 > limit {
        return Err(fallback(format!("{}: too large", path.display())));
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct Config {
    rootfs: RootFs,
}

#[derive(serde::Deserialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: String,
    diff_ids: Vec<String>,
}

/// The files of image `id` (called `name` in messages) from the overlay2 layer store under
/// `root`, keeping `keep` as the export reader does.
pub fn read_image(root: &Path, id: &str, name: &str, keep: &Keep) -> Result<ImageFiles, Fallback> {
    let hex = hex_of(id).ok_or_else(|| fallback("not a sha256 image id"))?;
    let store = root.join("image").join(DRIVER);
    let config = read_small(
        &store.join("imagedb/content/sha256").join(hex),
        CONFIG_LIMIT,
    )?;
    if sha256_hex(&config) != hex {
        return Err(fallback("the stored config does not hash to the image id"));
    }
    let config: Config =
        serde_json::from_slice(&config).map_err(|e| fallback(format!("config: {e}")))?;
    if config.rootfs.kind != "layers" || config.rootfs.diff_ids.is_empty() {
        return Err(fallback("the config names no layers"));
    }
    let mut chain = String::new();
    let mut order = Vec::with_capacity(config.rootfs.diff_ids.len());
    let mut scans = HashMap::new();
    for diff_id in &config.rootfs.diff_ids {
        hex_of(diff_id).ok_or_else(|| fallback("a diff_id is not sha256"))?;
        chain = if chain.is_empty() {
            diff_id.clone()
        } else {
            format!(
                "sha256:{}",
                sha256_hex(format!("{chain} {diff_id}").as_bytes())
            )
        };
        order.push(diff_id.clone());
        if scans.contains_key(diff_id) {
            continue;
        }
        let dir = store
            .join("layerdb/sha256")
            .join(hex_of(&chain).unwrap_or_default());
        let recorded = read_small(&dir.join("diff"), 128)?;
        if recorded.trim_ascii() != diff_id.as_bytes() {
            return Err(fallback(
                "a layer's recorded diff_id differs from the config's",
            ));
        }
        let cache_id = String::from_utf8(read_small(&dir.join("cache-id"), 256)?)
            .map_err(|_| fallback("a cache-id is not text"))?;
        let cache_id = cache_id.trim();
        if cache_id.is_empty() || !cache_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(fallback("a cache-id is not a plain name"));
        }
        let diff = root.join(DRIVER).join(cache_id).join("diff");
        if !diff.is_dir() {
            return Err(fallback("a layer's overlay2 directory is missing"));
        }
        let record = std::fs::File::open(dir.join("tar-split.json.gz"))
            .map_err(|e| fallback(format!("tar-split record: {e}")))?;
        let records = BufReader::with_capacity(
            64 * 1024,
            flate2::read::MultiGzDecoder::new(BufReader::new(record)),
        );
        let scan = layer::scan_keeping(tarsplit::Replay::new(records, diff), diff_id, keep)
            .map_err(|e| fallback(e.to_string()))?;
        // Notes name the layer as the export's archive does; rather than imitate that name,
        // such an (unusual) layer is exported.
        if !scan.notes.is_empty() {
            return Err(fallback("a layer has entries the scan only notes"));
        }
        scans.insert(diff_id.clone(), scan);
    }
    let layers = ImageLayers {
        config: Some(id.to_string()),
        tags: Vec::new(),
        order,
        scans,
        notes: Vec::new(),
    };
    let mut files = ImageFiles::from_layers(name, &layers);
    files.id = Some(id.to_string());
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::tarsplit::test_record::record_of;
    use std::io::Write;

    /// A data root holding one image of one layer (setuid su), laid out as dockerd does.
    fn store() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o4755);
        h.set_size(2);
        h.set_cksum();
        tar.append_data(&mut h, "usr/bin/su", &b"su"[..]).unwrap();
        let bytes = tar.into_inner().unwrap();
        let diff_id = format!("sha256:{}", sha256_hex(&bytes));
        let config = format!(r#"{{"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#);
        let id = sha256_hex(config.as_bytes());
        let store = root.join("image/overlay2");
        let content = store.join("imagedb/content/sha256");
        std::fs::create_dir_all(&content).unwrap();
        std::fs::write(content.join(&id), &config).unwrap();
        let layer = store.join("layerdb/sha256").join(&diff_id[7..]);
        std::fs::create_dir_all(&layer).unwrap();
        std::fs::write(layer.join("diff"), &diff_id).unwrap();
        std::fs::write(layer.join("cache-id"), "c0ffee").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(record_of(&bytes).as_bytes()).unwrap();
        std::fs::write(layer.join("tar-split.json.gz"), gz.finish().unwrap()).unwrap();
        std::fs::create_dir_all(root.join("overlay2/c0ffee/diff")).unwrap();
        (dir, format!("sha256:{id}"))
    }

    fn layer_dir(root: &Path) -> std::path::PathBuf {
        let base = root.join("image/overlay2/layerdb/sha256");
        std::fs::read_dir(&base)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    }

    #[test]
    fn a_sound_store_is_read_and_anything_off_falls_back() {
        let read = |root: &Path, id: &str| read_image(root, id, "img", &Keep::new());
        let (dir, id) = store();
        let files = read(dir.path(), &id).unwrap();
        assert_eq!(files.files.len(), 1);
        assert!(files.files[0].setuid_root());
        assert_eq!((files.layers, files.id.as_deref()), (1, Some(id.as_str())));

        type Damage = fn(&Path);
        let damages: [(&str, Damage); 6] = [
            ("config edited", |r| {
                let c = r.join("image/overlay2/imagedb/content/sha256");
                let f = std::fs::read_dir(&c)
                    .unwrap()
                    .next()
                    .unwrap()
                    .unwrap()
                    .path();
                let text = std::fs::read_to_string(&f).unwrap();
                std::fs::write(&f, text.replace("layers", "layers ")).unwrap();
            }),
            ("another diff", |r| {
                std::fs::write(layer_dir(r).join("diff"), "sha256:00").unwrap()
            }),
            ("escaping cache-id", |r| {
                std::fs::write(layer_dir(r).join("cache-id"), "../../etc").unwrap()
            }),
            ("no layer directory", |r| {
                std::fs::remove_dir_all(r.join("overlay2/c0ffee")).unwrap()
            }),
            ("no tar-split", |r| {
                std::fs::remove_file(layer_dir(r).join("tar-split.json.gz")).unwrap()
            }),
            ("corrupt tar-split", |r| {
                std::fs::write(layer_dir(r).join("tar-split.json.gz"), b"\x1f\x8bjunk").unwrap()
            }),
        ];
        for (what, damage) in damages {
            let (dir, id) = store();
            damage(dir.path());
            assert!(read(dir.path(), &id).is_err(), "{what} must fall back");
        }
        let (dir, _) = store();
        let other = format!("sha256:{}", "0".repeat(64));
        assert!(
            read(dir.path(), &other).is_err(),
            "an unknown id falls back"
        );
    }
}
