//! Small image archives written in the test with the tar crate, for inputs no engine would
//! produce (hostile paths, broken xattrs, truncated streams) and for runs without an engine.

use std::io::Write;

/// One entry of a crafted layer.
pub enum Fake<'a> {
    /// Path, mode, uid, and the raw `security.capability` bytes if any.
    File(&'a str, u32, u64, Option<&'a [u8]>),
    Dir(&'a str),
    /// A hard link to an earlier entry of the same layer.
    Link(&'a str, &'a str),
    /// A path written verbatim into the header (no checks), for `../` and absolute paths.
    RawPath(&'a [u8], u32),
}

/// `setcap cap_net_raw=ep`: revision 2, effective bit, permitted NET_RAW.
pub const PING_CAP: &[u8] = &[
    0x01, 0, 0, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn header(kind: tar::EntryType, mode: u32, uid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(0);
    h.set_size(size);
    h.set_mtime(0);
    h
}

pub fn layer(entries: &[Fake]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            Fake::File(path, mode, uid, xattr) => {
                if let Some(x) = xattr {
                    b.append_pax_extensions([("SCHILY.xattr.security.capability", *x)])
                        .unwrap();
                }
                let mut h = header(tar::EntryType::Regular, *mode, *uid, 4);
                b.append_data(&mut h, path, &b"\x7fELF"[..]).unwrap();
            }
            Fake::Dir(path) => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0, 0);
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
            Fake::Link(path, target) => {
                let mut h = header(tar::EntryType::Link, 0o755, 0, 0);
                b.append_link(&mut h, path, target).unwrap();
            }
            Fake::RawPath(path, mode) => {
                let mut h = header(tar::EntryType::Regular, *mode, 0, 0);
                let name = &mut h.as_old_mut().name;
                name[..path.len()].copy_from_slice(path);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn add(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = header(tar::EntryType::Regular, 0o644, 0, data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

/// A `docker save` archive (legacy layout) of one image with these layers, bottom first;
/// `manifest_last` puts manifest.json after the layers, as the format allows.
pub fn docker_save(layers: &[Vec<u8>], manifest_last: bool) -> Vec<u8> {
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("l{i:02}/layer.tar"))
        .collect();
    let manifest = serde_json::json!([{
        "Config": "0123456789abcdef.json",
        "RepoTags": ["crafted:latest"],
        "Layers": names,
    }])
    .to_string();
    let mut b = tar::Builder::new(Vec::new());
    if !manifest_last {
        add(&mut b, "manifest.json", manifest.as_bytes());
    }
    add(
        &mut b,
        "0123456789abcdef.json",
        b"{\"architecture\":\"amd64\"}",
    );
    for (name, data) in names.iter().zip(layers) {
        add(&mut b, name, data);
    }
    if manifest_last {
        add(&mut b, "manifest.json", manifest.as_bytes());
    }
    b.into_inner().unwrap()
}

/// An OCI image layout in a tar: index.json → manifest blob → gzip layer blobs.
pub fn oci(layers: &[Vec<u8>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    add(&mut b, "oci-layout", b"{\"imageLayoutVersion\":\"1.0.0\"}");
    let mut descriptors = Vec::new();
    for (i, data) in layers.iter().enumerate() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        let blob = gz.finish().unwrap();
        let digest = format!("{i:064x}");
        add(&mut b, &format!("blobs/sha256/{digest}"), &blob);
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{digest}"),
            "size": blob.len(),
        }));
    }
    let config = format!("{:064x}", 0xc0ffee);
    add(
        &mut b,
        &format!("blobs/sha256/{config}"),
        b"{\"architecture\":\"amd64\"}",
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "config": {"digest": format!("sha256:{config}"), "size": 24},
        "layers": descriptors,
    })
    .to_string();
    let mdigest = format!("{:064x}", 0xabc);
    add(
        &mut b,
        &format!("blobs/sha256/{mdigest}"),
        manifest.as_bytes(),
    );
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"digest": format!("sha256:{mdigest}"), "size": manifest.len()}],
    })
    .to_string();
    add(&mut b, "index.json", index.as_bytes());
    b.into_inner().unwrap()
}
