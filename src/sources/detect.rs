//! What a document is, decided by its content: people name compose files `stack.yml` and keep
//! manifests without extensions, so names are only a hint for which files to open at all.

use super::tree::Node;
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
    if root.is_map() {
        if root.get("apiVersion").is_some() && root.get("kind").is_some() {
            return DocKind::Kubernetes;
        }
        if root.get("HostConfig").is_some_and(Node::is_map) {
            return DocKind::Inspect;
        }
        if let Some(s) = root.get("services") {
            if s.is_map() || s.is_null() {
                return DocKind::Compose;
            }
        }
        return DocKind::Unknown;
    }
    if let Some(first) = root.items().first() {
        if first.get("HostConfig").is_some_and(Node::is_map) {
            return DocKind::Inspect;
        }
        if first.get("apiVersion").is_some() && first.get("kind").is_some() {
            // A bare JSON array of objects (some tools emit that instead of a `List`).
            return DocKind::Kubernetes;
        }
    }
    DocKind::Unknown
}

/// Offset of a NUL byte in the first 8 KiB, the test git and ripgrep use for "binary".
pub fn binary_offset(bytes: &[u8]) -> Option<usize> {
    bytes.iter().take(8192).position(|&b| b == 0)
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

    #[test]
    fn sniffing() {
        assert!(looks_like_config("# c\nservices:\n  a: {}\n"));
        assert!(looks_like_config("apiVersion: v1\nkind: Pod\n"));
        assert!(!looks_like_config("# Title\n\nSome services: text\n"));
        assert!(has_config_extension(Path::new("a/b.YML")));
        assert!(!has_config_extension(Path::new("a/b.md")));
    }
}
