//! The image-analysis cache ($XDG_CACHE_HOME/dropcap) on the real Debian image: a warm run
//! reports exactly what a cold one does, its entries are what the runs use, and a damaged
//! entry is read past and rewritten.

mod common;

use dropcap::image::cache::ImageCache;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn audit(cache: &Path, filter: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dropcap"))
        .args(["--format", "json", "audit", "--filter", filter])
        .args(extra)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("DROPCAP_NO_CACHE")
        .output()
        .unwrap()
}

/// The report without what changes from run to run by itself (nothing today: the check
/// keeps it honest if a timestamp is ever added).
fn report(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn image_id(image: &str) -> String {
    let out = common::docker(&["image", "inspect", "--format", "{{.Id}}", image]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_warm_run_reports_what_a_cold_run_does_and_uses_its_entries() {
    let test = "a_warm_run_reports_what_a_cold_run_does_and_uses_its_entries";
    let Some(debian) = common::debian_image(test) else {
        return;
    };
    let busybox = common::test_image();
    let label = common::unique("image-cache");
    let l = format!("dropcap-image-cache={label}");
    let ping = common::container(
        "image-cache",
        &["--label", &l, "--cap-drop", "NET_RAW", debian, "true"],
        false,
    );
    let small = common::container("image-cache", &["--label", &l, busybox, "true"], false);
    let filter = format!("label={l}");
    let dir = tempfile::tempdir().unwrap();
    let cache = ImageCache::in_dir(dir.path().join("dropcap"));
    let (debian_id, busybox_id) = (image_id(debian), image_id(busybox));
    assert_ne!(debian_id, busybox_id);

    let cold = report(&audit(dir.path(), &filter, &[]));
    let with_ping = common::rules_of(&cold, &ping.0);
    assert!(with_ping.contains(&"DC020".to_string()), "{with_ping:?}");
    assert!(with_ping.contains(&"DC021".to_string()), "{with_ping:?}");
    // One entry per image id, each holding its own image.
    let entry = cache
        .get(&debian_id, debian)
        .expect("the cold run wrote the entry");
    assert!(entry.files.iter().any(|f| f.path == "/usr/bin/ping"));
    assert!(cache.get(&busybox_id, busybox).is_some());
    let entries = std::fs::read_dir(dir.path().join("dropcap/images"))
        .unwrap()
        .count();
    assert_eq!(entries, 2);

    let warm = report(&audit(dir.path(), &filter, &[]));
    assert_eq!(warm, cold, "a cache hit must give the cold run's report");
    let bypass = report(&audit(dir.path(), &filter, &["--no-cache"]));
    assert_eq!(bypass, cold);

    // The runs use the entry: one without ping (written through the cache's own writer)
    // takes DC020 away, and --no-cache, which ignores it, brings it back.
    let mut doctored = entry.clone();
    doctored.files.retain(|f| f.path != "/usr/bin/ping");
    cache.put(&doctored);
    let served = report(&audit(dir.path(), &filter, &[]));
    assert!(!common::rules_of(&served, &ping.0).contains(&"DC020".to_string()));
    assert_eq!(report(&audit(dir.path(), &filter, &["--no-cache"])), cold);

    // Damaged entries are misses, and the run rewrites them from the engine.
    let path = cache.entry_path(&debian_id).unwrap();
    let good = {
        cache.put(&entry);
        std::fs::read(&path).unwrap()
    };
    for damaged in [
        good[..good.len() - 40].to_vec(),
        b"dropcap-image-cache 999 x y\n{}".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(report(&audit(dir.path(), &filter, &[])), cold);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            good,
            "the entry is rewritten"
        );
    }
    // The busybox entry under the Debian id names another image inside: a miss.
    std::fs::copy(cache.entry_path(&busybox_id).unwrap(), &path).unwrap();
    assert_eq!(report(&audit(dir.path(), &filter, &[])), cold);
    assert_eq!(std::fs::read(&path).unwrap(), good);
    drop((ping, small));
}

#[test]
fn dropcap_image_uses_the_cache_and_no_cache_leaves_it_alone() {
    let test = "dropcap_image_uses_the_cache_and_no_cache_leaves_it_alone";
    let Some(debian) = common::debian_image(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let image = |extra: &[&str], env_off: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dropcap"));
        c.args(["--format", "json", "image", debian])
            .args(extra)
            .env("XDG_CACHE_HOME", dir.path())
            .env_remove("DROPCAP_NO_CACHE");
        if env_off {
            c.env("DROPCAP_NO_CACHE", "1");
        }
        let out = c.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let entries = || std::fs::read_dir(dir.path().join("dropcap/images")).map_or(0, |d| d.count());
    let bypassed = image(&["--no-cache"], false);
    assert_eq!(entries(), 0, "--no-cache writes nothing");
    let _ = image(&[], true);
    assert_eq!(entries(), 0, "DROPCAP_NO_CACHE=1 writes nothing");
    let cold = image(&[], false);
    assert_eq!(entries(), 1);
    let warm = image(&[], false);
    assert_eq!(cold, bypassed);
    assert_eq!(warm, cold);
    assert!(cold.to_string().contains("/usr/bin/ping"));
}
