//! Listing a local dockerd's containers from its own files, without the list endpoint.
//!
//! Once inspects are read from the state files (see [`super::disk`]), `GET /containers/json`
//! is most of what is left of a live audit: dockerd builds a summary per container (image
//! lookup, mounts, networks), about 0.1–0.2 ms each, so a 1,000-container engine spends longer
//! listing than dropcap spends auditing. The data root is only trusted after the daemon behind
//! the socket proves it is its own: the socket's peer (SO_PEERCRED) is the dockerd process,
//! and that process holds `<root>/volumes/metadata.db` open. A socket-activated or remote
//! engine, another pid namespace, or Podman fails that check and is listed through the API.
//! Filters are applied here only when they mean the same as in dockerd (`label`, and `name` /
//! `id` values that are plain text, not regular expressions); any other filter goes to the API.

use bollard::models::ContainerInspectResponse;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The file dockerd's local volume store keeps open for as long as the daemon runs.
const MARKER: &str = "volumes/metadata.db";

/// The data root of the dockerd listening on the unix socket `sock`, as a path this process
/// can read (through `/proc/PID/root` when dockerd runs in another mount namespace).
pub async fn verified_root(sock: &str) -> Option<PathBuf> {
    let stream = tokio::net::UnixStream::connect(sock).await.ok()?;
    let pid = stream.peer_cred().ok()?.pid()?;
    drop(stream);
    if pid <= 0 {
        return None;
    }
    root_of(Path::new("/proc"), pid)
}

fn root_of(proc_root: &Path, pid: i32) -> Option<PathBuf> {
    let me = proc_root.join(pid.to_string());
    let root = std::fs::read_dir(me.join("fd"))
        .ok()?
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .find(|t| t.is_absolute() && t.ends_with(MARKER))?
        .parent()?
        .parent()?
        .to_path_buf();
    let ours = std::fs::read_link(proc_root.join("self/ns/mnt")).ok();
    let theirs = std::fs::read_link(me.join("ns/mnt")).ok();
    let root = if ours.is_some() && ours == theirs {
        root
    } else {
        me.join("root").join(root.strip_prefix("/").ok()?)
    };
    std::fs::read_dir(root.join("containers")).ok()?;
    Some(root)
}

/// Whether `filters` select exactly the same containers here as in dockerd.
pub fn can_filter(filters: &HashMap<String, Vec<String>>) -> bool {
    filters.iter().all(|(k, values)| match k.as_str() {
        "label" => true,
        // dockerd matches these as unanchored regular expressions: plain text is a substring.
        "name" | "id" => values.iter().all(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }),
        _ => false,
    })
}

/// dockerd's `label` (every one must hold: `key` present, `key=value` equal), `name` and `id`
/// (any one value, as a substring).
pub fn matches(filters: &HashMap<String, Vec<String>>, c: &ContainerInspectResponse) -> bool {
    let empty = HashMap::new();
    let labels = c
        .config
        .as_ref()
        .and_then(|cfg| cfg.labels.as_ref())
        .unwrap_or(&empty);
    let name = c.name.as_deref().unwrap_or("");
    let id = c.id.as_deref().unwrap_or("");
    filters.iter().all(|(k, values)| match k.as_str() {
        "label" => values.iter().all(|v| match v.split_once('=') {
            Some((key, want)) => labels.get(key).is_some_and(|have| have == want),
            None => labels.contains_key(v.as_str()),
        }),
        "name" => values.iter().any(|v| name.contains(v.as_str())),
        "id" => values.iter().any(|v| id.contains(v.as_str())),
        _ => false,
    })
}

/// Every container under `root` that `filters` select, read from its state files; `None`
/// when any container's files cannot be read (one being created right now, a format this
/// does not know), so that the API lists them instead.
pub fn list(
    root: &Path,
    filters: &HashMap<String, Vec<String>>,
) -> Option<Vec<ContainerInspectResponse>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root.join("containers")).ok()? {
        let name = e.ok()?.file_name();
        let id = name.to_str()?;
        let c = super::disk::read(root, id)?;
        if matches(filters, &c) {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::ContainerConfig;

    fn filters(pairs: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    #[test]
    fn filters_mean_what_they_mean_in_dockerd() {
        let c = ContainerInspectResponse {
            id: Some("abc123".into()),
            name: Some("/web-1".into()),
            config: Some(ContainerConfig {
                labels: Some(HashMap::from([
                    ("team".to_string(), "a".to_string()),
                    ("tier".to_string(), "".to_string()),
                ])),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(matches(&filters(&[]), &c));
        assert!(matches(
            &filters(&[("label", "team=a"), ("label", "tier")]),
            &c
        ));
        assert!(!matches(
            &filters(&[("label", "team=a"), ("label", "x")]),
            &c
        ));
        assert!(!matches(&filters(&[("label", "team=b")]), &c));
        assert!(matches(&filters(&[("name", "nope"), ("name", "eb-")]), &c));
        assert!(!matches(&filters(&[("name", "nope")]), &c));
        assert!(matches(&filters(&[("id", "c12")]), &c));
        assert!(can_filter(&filters(&[
            ("label", "a=b c"),
            ("name", "web_1")
        ])));
        assert!(!can_filter(&filters(&[("name", "web.1")])), "a regex");
        assert!(!can_filter(&filters(&[("status", "running")])));
    }

    #[test]
    fn a_process_without_the_marker_is_no_dockerd() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert_eq!(root_of(Path::new("/proc"), me), None);
    }

    #[test]
    fn unreadable_state_sends_the_listing_to_the_api() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("containers").join("f".repeat(64))).unwrap();
        assert!(list(dir.path(), &HashMap::new()).is_none());
        std::fs::remove_dir(dir.path().join("containers").join("f".repeat(64))).unwrap();
        assert_eq!(list(dir.path(), &HashMap::new()).map(|l| l.len()), Some(0));
    }
}
