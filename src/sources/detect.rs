//! What a document is, decided by its content: people name compose files `stack.yml` and keep
//! manifests without extensions, so names are only a hint for which files to open at all.

use super::tree::{Node, Pos};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    Compose,
    Kubernetes,
    /// `docker inspect` / `podman inspect` output.
    Inspect,
    /// Anything else (Helm values, CI configs, ConfigMaps...): skipped quietly.
    Unknown,
}

pub fn classify(root: &Node) -> DocKind {
    classify_why(root).0
}

/// Top-level keys of the compose specification; docker compose refuses any other (except
/// `x-*`), which is what tells a compose file from an API dump that happens to have `services`.
const COMPOSE_TOP: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "configs", "secrets", "include", "models",
];

/// Service keys of the compose specification (a service needs at least one to be a service).
const COMPOSE_SERVICE: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// What a document is, and when it is none of the kinds dropcap audits, why not (for
/// `--verbose`): a skipped document must never be a silent guess.
pub fn classify_why(root: &Node) -> (DocKind, Option<String>) {
    if root.is_null() {
        return (DocKind::Unknown, None);
    }
    if root.is_map() {
        if root.get("apiVersion").is_some() && root.get("kind").is_some() {
            return (DocKind::Kubernetes, None);
        }
        if root.get("HostConfig").is_some() {
            return inspect_object(root);
        }
        if let Some(s) = root.get("services") {
            return compose(root, s);
        }
        return (
            DocKind::Unknown,
            Some("no apiVersion and kind, no compose services, no HostConfig".into()),
        );
    }
    if let Some(first) = root.items().first() {
        if first.get("HostConfig").is_some() {
            return inspect_object(first);
        }
        if first.get("apiVersion").is_some() && first.get("kind").is_some() {
            // A bare JSON array of objects (some tools emit that instead of a `List`).
            return (DocKind::Kubernetes, None);
        }
    }
    let what = if root.is_seq() { "a list" } else { "a scalar" };
    (
        DocKind::Unknown,
        Some(format!(
            "{what}, not a map with apiVersion and kind, compose services or HostConfig"
        )),
    )
}

/// `docker inspect` output has `HostConfig` with the container's settings and a `State`
/// object; `GET /containers/json` (what `docker ps` reads) has a two-key `HostConfig`, a
/// `State` string and `Names`, and no capabilities at all: auditing it as inspect output would
/// report Docker's default set for every container, whatever they really run with.
fn inspect_object(obj: &Node) -> (DocKind, Option<String>) {
    let hc = obj.get("HostConfig");
    if !hc.is_some_and(Node::is_map) {
        return (
            DocKind::Unknown,
            Some("HostConfig is not a map".to_string()),
        );
    }
    let state_is_text = obj.get("State").is_some_and(|s| s.as_text().is_some());
    let has_settings = hc.is_some_and(|h| {
        ["CapAdd", "CapDrop", "Privileged", "SecurityOpt"]
            .iter()
            .any(|k| h.get(k).is_some())
    });
    if (state_is_text || obj.get("Names").is_some()) && !has_settings {
        return (
            DocKind::Unknown,
            Some(
                "a container list (GET /containers/json, as `docker ps` reads it), not inspect output: it holds no capabilities; audit `docker inspect $(docker ps -q)` instead"
                    .to_string(),
            ),
        );
    }
    (DocKind::Inspect, None)
}

fn compose(root: &Node, services: &Node) -> (DocKind, Option<String>) {
    let super::tree::Kind::Map(pairs) = &root.kind else {
        return (DocKind::Unknown, None);
    };
    if let Some(k) = pairs
        .iter()
        .filter_map(|(k, _)| k.as_str())
        .find(|k| !k.starts_with("x-") && *k != "<<" && !COMPOSE_TOP.contains(k))
    {
        return (
            DocKind::Unknown,
            Some(format!(
                "a `services` key, but `{k}` is not a compose top-level key (docker compose would refuse it)"
            )),
        );
    }
    if services.is_null() {
        return (DocKind::Compose, None);
    }
    if !services.is_map() {
        return (
            DocKind::Unknown,
            Some("`services` is not a map of services".to_string()),
        );
    }
    let entries = services.entries();
    if entries.is_empty() {
        return (DocKind::Compose, None);
    }
    // Wrongly shaped services next to real ones are the compose reader's errors to report;
    // a `services` map in which no entry is a service is not compose at all.
    let is_service = |v: &Node| {
        v.entries().iter().any(|(k, _)| {
            k.as_str()
                .is_some_and(|k| COMPOSE_SERVICE.contains(&k) || k.starts_with("x-"))
        })
    };
    let empty = |v: &Node| v.is_null() || (v.is_map() && v.entries().is_empty());
    if entries.iter().any(|(_, v)| is_service(v)) || entries.iter().all(|(_, v)| empty(v)) {
        (DocKind::Compose, None)
    } else {
        (
            DocKind::Unknown,
            Some(
                "a `services` map, but no entry has a compose service key (image, build, ...)"
                    .to_string(),
            ),
        )
    }
}

/// Offset of a NUL byte in the first 8 KiB, the test git and ripgrep use for "binary". Text
/// in UTF-16 or UTF-32 with a byte order mark (valid YAML) is full of NUL bytes and is not
/// binary.
pub fn binary_offset(bytes: &[u8]) -> Option<usize> {
    if wide_encoding(bytes).is_some() {
        return None;
    }
    bytes.iter().take(8192).position(|&b| b == 0)
}

/// UTF-16/32 byte order marks, as YAML 1.2 (5.2) detects encodings; the bool is little-endian.
fn wide_encoding(bytes: &[u8]) -> Option<(usize, bool)> {
    match bytes {
        [0, 0, 0xFE, 0xFF, ..] => Some((4, false)),
        [0xFF, 0xFE, 0, 0, ..] => Some((4, true)),
        [0xFE, 0xFF, ..] => Some((2, false)),
        [0xFF, 0xFE, ..] => Some((2, true)),
        _ => None,
    }
}

/// Text in UTF-16 or UTF-32 with a byte order mark, decoded; `None` for anything else. An
/// invalid code unit is an error at its position (line and column in characters).
pub fn decode_wide(bytes: &[u8]) -> Option<Result<String, (Pos, String)>> {
    let (width, little) = wide_encoding(bytes)?;
    let body = &bytes[width..];
    let unit = |c: &[u8]| -> u32 {
        let mut v = 0u32;
        if little {
            for &b in c.iter().rev() {
                v = (v << 8) | u32::from(b);
            }
        } else {
            for &b in c {
                v = (v << 8) | u32::from(b);
            }
        }
        v
    };
    let mut out = String::with_capacity(body.len() / width);
    let bad = |out: &str| {
        let line = out.matches('\n').count() + 1;
        let col = out.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Err((
            Pos {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(col).unwrap_or(u32::MAX),
            },
            format!("invalid UTF-{}", width * 8),
        ))
    };
    if !body.len().is_multiple_of(width) {
        return Some(bad(&out));
    }
    if width == 4 {
        for c in body.chunks_exact(4) {
            match char::from_u32(unit(c)) {
                Some(ch) => out.push(ch),
                None => return Some(bad(&out)),
            }
        }
    } else {
        let units = body.chunks_exact(2).map(|c| unit(c) as u16);
        for r in char::decode_utf16(units) {
            match r {
                Ok(ch) => out.push(ch),
                Err(_) => return Some(bad(&out)),
            }
        }
    }
    Some(Ok(out))
}

/// Extensions always parsed when found in a directory.
pub fn has_config_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// For files in a directory walk without a YAML/JSON extension: parse them only when the text
/// looks like a manifest or compose file, so READMEs and scripts are not reported as broken
/// YAML.
pub fn looks_like_config(text: &str) -> bool {
    let mut api = false;
    let mut kind = false;
    for line in text.lines().take(400) {
        if line.starts_with("services:") {
            return true;
        }
        api |= line.starts_with("apiVersion:");
        kind |= line.starts_with("kind:");
        if api && kind {
            return true;
        }
    }
    let t = text.trim_start();
    (t.starts_with('{') || t.starts_with('['))
        && (t.contains("\"apiVersion\"") || t.contains("\"HostConfig\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tree::documents;

    fn kind(text: &str) -> DocKind {
        classify(&documents(text).next().unwrap().unwrap().root)
    }

    #[test]
    fn classifies_by_content() {
        assert_eq!(kind("services:\n  web: {image: x}\n"), DocKind::Compose);
        assert_eq!(kind("apiVersion: v1\nkind: Pod\n"), DocKind::Kubernetes);
        assert_eq!(
            kind("[{\"Id\": \"x\", \"HostConfig\": {}}]"),
            DocKind::Inspect
        );
        assert_eq!(
            kind("{\"Id\": \"x\", \"HostConfig\": {}}"),
            DocKind::Inspect
        );
        assert_eq!(kind("replicas: 3\nimage: {tag: x}\n"), DocKind::Unknown);
        assert_eq!(kind("just text"), DocKind::Unknown);
    }

    fn why(text: &str) -> (DocKind, Option<String>) {
        classify_why(&documents(text).next().unwrap().unwrap().root)
    }

    #[test]
    fn compose_is_told_by_its_keys_not_by_a_services_key() {
        // traefik's raw data and istio's config dump: not compose, and --verbose says why.
        let (k, w) =
            why("{\"routers\": {}, \"services\": {\"a@file\": {\"status\": \"enabled\"}}}");
        assert_eq!(k, DocKind::Unknown);
        assert!(w
            .unwrap()
            .contains("`routers` is not a compose top-level key"));
        let (k, w) = why("services:\n  a: {vips: [x], endpoints: {}}\n");
        assert_eq!(k, DocKind::Unknown);
        assert!(w.unwrap().contains("no entry has a compose service key"));
        // Compose with extensions, empty services, and a wrongly shaped service next to a
        // real one (the compose reader reports it).
        assert_eq!(
            kind("version: '3'\nx-common: &c {restart: always}\nname: s\nservices:\n  a: {<<: *c, image: x}\n"),
            DocKind::Compose
        );
        assert_eq!(kind("services:\n  a: {}\n  b:\n"), DocKind::Compose);
        assert_eq!(
            kind("services:\n  a: x\n  b: {image: y}\n"),
            DocKind::Compose
        );
    }

    #[test]
    fn a_container_list_is_not_inspect_output() {
        let (k, w) = why("[{\"Id\": \"a\", \"Names\": [\"/w\"], \"State\": \"running\", \"HostConfig\": {\"NetworkMode\": \"bridge\"}}]");
        assert_eq!(k, DocKind::Unknown);
        assert!(w.unwrap().contains("GET /containers/json"));
        assert_eq!(
            kind("[{\"Id\": \"a\", \"State\": {\"Running\": true}, \"HostConfig\": {\"CapAdd\": null}}]"),
            DocKind::Inspect
        );
    }

    #[test]
    fn utf16_and_utf32_with_a_bom_are_text() {
        let t = "a: 1\nb: é\n";
        let mut le = vec![0xFF, 0xFE];
        le.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(t.encode_utf16().flat_map(u16::to_be_bytes));
        let mut b32 = vec![0, 0, 0xFE, 0xFF];
        b32.extend(t.chars().flat_map(|c| (c as u32).to_be_bytes()));
        for bytes in [&le, &be, &b32] {
            assert_eq!(binary_offset(bytes), None);
            assert_eq!(decode_wide(bytes).unwrap().unwrap(), t);
        }
        // A lone surrogate: an error at its line and column.
        let mut bad = vec![0xFF, 0xFE];
        bad.extend("a: 1\nb: ".encode_utf16().flat_map(u16::to_le_bytes));
        bad.extend(0xD800u16.to_le_bytes());
        let (pos, msg) = decode_wide(&bad).unwrap().unwrap_err();
        assert_eq!((pos.line, pos.col, msg.as_str()), (2, 4, "invalid UTF-16"));
        assert!(decode_wide(b"a: 1\n").is_none());
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_config("# c\nservices:\n  a: {}\n"));
        assert!(looks_like_config("apiVersion: v1\nkind: Pod\n"));
        assert!(!looks_like_config("# Title\n\nSome services: text\n"));
        assert!(has_config_extension(Path::new("a/b.YML")));
        assert!(!has_config_extension(Path::new("a/b.md")));
    }
}
