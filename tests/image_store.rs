//! Images read from a local dockerd's overlay2 layer store (tar-split replay) must give
//! exactly what the image export gives: the busybox test image, the Debian fixture, and an
//! image built on it with a whiteout, an opaque directory and changed set-id bits and
//! file capabilities.

mod common;

use dropcap::engine::layerdb;
use dropcap::image::layer::Keep;
use dropcap::image::ImageFiles;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn info(format: &str) -> String {
    let out = common::docker(&["info", "--format", format]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The data root when the engine uses overlay2 (as it does here); otherwise the layer store
/// is never read, and the test says so (a failure in CI).
fn overlay2_root(test: &str) -> Option<PathBuf> {
    if !common::docker_available(test) || !common::is_root(test) {
        return None;
    }
    let driver = info("{{.Driver}}");
    if driver != "overlay2" {
        assert!(
            !common::in_ci(),
            "{test}: the engine's storage driver is {driver}"
        );
        eprintln!("SKIPPED {test}: storage driver {driver}, not overlay2");
        return None;
    }
    Some(PathBuf::from(info("{{.DockerRootDir}}")))
}

fn image_id(image: &str) -> String {
    let out = common::docker(&["image", "inspect", "--format", "{{.Id}}", image]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn exported(image: &str, id: &str, keep: &Keep) -> ImageFiles {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = bollard::Docker::connect_with_unix_defaults().unwrap();
        dropcap::engine::export::read_image_keeping(
            &docker,
            None,
            id,
            image,
            Duration::from_secs(600),
            keep.clone(),
        )
        .await
        .unwrap()
    })
}

/// Reads `image` both ways, with and without kept paths, and insists they agree.
fn same_both_ways(root: &Path, image: &str) -> ImageFiles {
    let id = image_id(image);
    let keep: Keep = ["/etc", "/etc/passwd", "/usr/bin", "/usr/share/doc", "/tmp"]
        .iter()
        .map(|p| p.to_string())
        .collect();
    for keep in [Keep::new(), keep] {
        let local = layerdb::read_image(root, &id, image, &keep)
            .unwrap_or_else(|e| panic!("{image}: the layer store was not used: {e:?}"));
        let export = exported(image, &id, &keep);
        assert_eq!(local.files, export.files, "{image}");
        assert_eq!(local.layers, export.layers, "{image}");
        assert_eq!(local.notes, export.notes, "{image}");
        assert_eq!(local.id, export.id, "{image}");
        assert_eq!(local.image, export.image, "{image}");
    }
    layerdb::read_image(root, &id, image, &Keep::new()).unwrap()
}

#[test]
fn the_layer_store_gives_the_exports_answer() {
    let test = "the_layer_store_gives_the_exports_answer";
    let Some(root) = overlay2_root(test) else {
        return;
    };
    same_both_ways(&root, common::test_image());
    let Some(debian) = common::debian_image(test) else {
        return;
    };
    let base = same_both_ways(&root, debian);
    assert!(base
        .files
        .iter()
        .any(|f| f.path == "/usr/bin/ping" && f.capability.is_some()));
    assert!(base
        .files
        .iter()
        .any(|f| f.path == "/usr/bin/su" && f.setuid()));

    let image = common::build_image(
        "image-store",
        &format!(
            "FROM {debian}\n\
             RUN rm /usr/bin/su && setcap -r /usr/bin/ping && chmod u-s /usr/bin/chfn\n\
             RUN rm -rf /usr/share/doc && mkdir /usr/share/doc && cp /bin/true /usr/share/doc/t && chmod 4755 /usr/share/doc/t\n\
             RUN cp /bin/true /usr/local/bin/bind && setcap cap_net_bind_service+ep /usr/local/bin/bind\n"
        ),
    );
    let built = same_both_ways(&root, &image.0);
    let has = |p: &str| built.files.iter().find(|f| f.path == p);
    assert!(has("/usr/bin/su").is_none(), "the whiteout hides su");
    assert!(
        has("/usr/bin/ping").is_none(),
        "the upper copy has no capability"
    );
    assert!(has("/usr/bin/chfn").is_none());
    assert!(has("/usr/share/doc/t").is_some_and(|f| f.setuid()));
    assert!(has("/usr/local/bin/bind").is_some_and(|f| f.capability.is_some()));
    assert!(has("/usr/bin/passwd").is_some_and(|f| f.setuid()));
}

#[test]
fn an_unusable_store_is_a_fallback_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let id = format!("sha256:{}", "ab".repeat(32));
    for bad_id in [id.as_str(), "sha256:../../etc", "nonsense"] {
        assert!(layerdb::read_image(dir.path(), bad_id, "x", &Keep::new()).is_err());
    }
}
