//! Printing a capability set the way each ecosystem writes it, so output can be pasted as is.
//!
//! Every recommendation dropcap prints is "drop ALL, add back exactly these", the CIS and PSS
//! best practice; these functions are the one place that turns a kept set into that text.

use super::{Cap, CapSet};

/// Ways to write a set as a flat list; each round-trips through [`super::parse_list`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// `CHOWN,NET_RAW` (Docker, compose, Kubernetes).
    Canonical,
    /// `CAP_CHOWN,CAP_NET_RAW` (kernel headers, Docker inspect output).
    Kernel,
    /// `cap_chown,cap_net_raw` (libcap, capsh, getpcaps).
    Libcap,
    /// `0x0000000000002001` (`/proc/PID/status`).
    Mask,
}

/// A flat list in the chosen spelling; the empty set prints as `-` (or a zero mask).
pub fn list(set: CapSet, spelling: Spelling) -> String {
    if spelling == Spelling::Mask {
        return set.to_hex();
    }
    if set.is_empty() {
        return "-".to_string();
    }
    let name = |c: Cap| match spelling {
        Spelling::Canonical | Spelling::Mask => c.name(),
        Spelling::Kernel => c.kernel_name(),
        Spelling::Libcap => c.libcap_name(),
    };
    set.iter().map(name).collect::<Vec<_>>().join(",")
}

/// A short form for tables: `full`, `ALL -SYS_RESOURCE` for near-full sets (common for root in
/// sandboxes that trimmed the bounding set), else the canonical list. Not for parsing.
pub fn compact(set: CapSet) -> String {
    let missing = CapSet::all_known().difference(set);
    if missing.is_empty() {
        let extra = set.difference(CapSet::all_known());
        return if extra.is_empty() {
            "full".to_string()
        } else {
            format!("full +{}", list(extra, Spelling::Canonical))
        };
    }
    if missing.len() <= 4 && set.len() > missing.len() * 4 {
        let minus: Vec<String> = missing.iter().map(|c| format!("-{c}")).collect();
        return format!("ALL {}", minus.join(" "));
    }
    list(set, Spelling::Canonical)
}

/// libcap text for a set held in the effective and permitted sets: `cap_chown,cap_net_raw=ep`,
/// `=ep` for everything, `=` for nothing.
pub fn libcap_text(set: CapSet) -> String {
    if set.is_empty() {
        "=".to_string()
    } else if set == CapSet::all_known() {
        "=ep".to_string()
    } else {
        format!("{}=ep", list(set, Spelling::Libcap))
    }
}

/// `docker run` / `podman run` flags that leave exactly `keep`.
pub fn docker_flags(keep: CapSet) -> String {
    let mut s = String::from("--cap-drop=ALL");
    for c in keep.iter() {
        s.push_str(" --cap-add=");
        s.push_str(&c.name());
    }
    s
}

/// Compose service keys that leave exactly `keep`, indented for a service body.
pub fn compose_keys(keep: CapSet, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = format!("{pad}cap_drop:\n{pad}  - ALL\n");
    if !keep.is_empty() {
        s.push_str(&format!("{pad}cap_add:\n"));
        for c in keep.iter() {
            s.push_str(&format!("{pad}  - {c}\n"));
        }
    }
    s
}

/// A Kubernetes container `securityContext` that leaves exactly `keep`.
pub fn k8s_security_context(keep: CapSet, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = format!("{pad}securityContext:\n{pad}  capabilities:\n{pad}    drop: [\"ALL\"]\n");
    if !keep.is_empty() {
        let names: Vec<String> = keep.iter().map(|c| format!("\"{c}\"")).collect();
        s.push_str(&format!("{pad}    add: [{}]\n", names.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nr_chown() -> CapSet {
        CapSet::EMPTY.with(Cap::CHOWN).with(Cap::NET_RAW)
    }

    #[test]
    fn compact_forms() {
        assert_eq!(compact(CapSet::all_known()), "full");
        assert_eq!(
            compact(CapSet(u64::MAX)).split_whitespace().next(),
            Some("full")
        );
        let no_res = CapSet::all_known().without(Cap::new(24).unwrap());
        assert_eq!(compact(no_res), "ALL -SYS_RESOURCE");
        assert_eq!(compact(nr_chown()), "CHOWN,NET_RAW");
        assert_eq!(compact(CapSet::EMPTY), "-");
    }

    #[test]
    fn each_ecosystem() {
        let s = nr_chown();
        assert_eq!(list(s, Spelling::Canonical), "CHOWN,NET_RAW");
        assert_eq!(list(s, Spelling::Kernel), "CAP_CHOWN,CAP_NET_RAW");
        assert_eq!(list(s, Spelling::Libcap), "cap_chown,cap_net_raw");
        assert_eq!(list(s, Spelling::Mask), "0x0000000000002001");
        assert_eq!(libcap_text(s), "cap_chown,cap_net_raw=ep");
        assert_eq!(libcap_text(CapSet::all_known()), "=ep");
        assert_eq!(libcap_text(CapSet::EMPTY), "=");
        assert_eq!(
            docker_flags(s),
            "--cap-drop=ALL --cap-add=CHOWN --cap-add=NET_RAW"
        );
        assert_eq!(docker_flags(CapSet::EMPTY), "--cap-drop=ALL");
        assert_eq!(
            compose_keys(s, 4),
            "    cap_drop:\n      - ALL\n    cap_add:\n      - CHOWN\n      - NET_RAW\n"
        );
        assert_eq!(
            k8s_security_context(s, 0),
            "securityContext:\n  capabilities:\n    drop: [\"ALL\"]\n    add: [\"CHOWN\", \"NET_RAW\"]\n"
        );
        assert_eq!(
            k8s_security_context(CapSet::EMPTY, 0),
            "securityContext:\n  capabilities:\n    drop: [\"ALL\"]\n"
        );
    }
}
