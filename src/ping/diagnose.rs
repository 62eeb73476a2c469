//! Why no ICMP socket could be opened, and how to fix it where the container is started.
//!
//! The usual cause is a `net.ipv4.ping_group_range` that excludes the process's groups (Podman's
//! default `0 0` for non-root users, the kernel's own `1 0`, `--network host`) combined with a
//! dropped NET_RAW. The fix worth printing is the sysctl, never "add NET_RAW back": the sysctl
//! grants ICMP echo and nothing else, NET_RAW grants packet forging and sniffing.

use super::packet::Family;
use super::socket::Kind;
use crate::caps::{Cap, CapSet};
use crate::process::ProcStatus;
use std::fmt::Write as _;
use std::path::Path;

pub const RANGE_PATH: &str = "/proc/sys/net/ipv4/ping_group_range";
/// The range Docker ≥ 20.10 sets: every group.
pub const OPEN_RANGE: &str = "0 2147483647";

/// What became of the raw-socket fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawAttempt {
    /// `--datagram-only`.
    NotWanted,
    /// CAP_NET_RAW is not in the effective set, so the kernel would refuse it.
    NoNetRaw,
    Failed(String),
}

/// Both refusals, as the kernel gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub target: String,
    pub family: Family,
    /// The kernel's answer to `socket(2)` for the datagram socket.
    pub datagram: String,
    pub raw: RawAttempt,
}

/// The facts the explanation rests on, gathered from `/proc` and the process's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The sysctl's text, or why it could not be read.
    pub range: Result<String, String>,
    pub egid: u32,
    pub groups: Vec<u32>,
    /// CapEff, or why it could not be read.
    pub effective: Result<CapSet, String>,
}

impl Facts {
    pub fn gather() -> Facts {
        let range = std::fs::read_to_string(RANGE_PATH)
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .map_err(|e| format!("{RANGE_PATH}: {e}"));
        // /proc/self, not /proc/<getpid()>: the two differ when /proc belongs to another pid
        // namespace than ours (a container started with the host's /proc mounted).
        let path = Path::new("/proc/self/status");
        let effective = crate::process::read_text(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| {
                ProcStatus::parse(&text, std::process::id(), path).map_err(|e| e.to_string())
            })
            .map(|s| s.effective);
        Facts {
            range,
            egid: current_egid(),
            groups: supplementary_groups(),
            effective,
        }
    }

    pub fn net_raw(&self) -> Option<bool> {
        self.effective
            .as_ref()
            .ok()
            .map(|s| s.contains(Cap::NET_RAW))
    }
}

pub fn current_egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

pub fn supplementary_groups() -> Vec<u32> {
    // SAFETY: a zero-sized query returns the count; the second call fills at most `n` entries.
    unsafe {
        let n = libc::getgroups(0, std::ptr::null_mut());
        if n <= 0 {
            return Vec::new();
        }
        let mut g = vec![0 as libc::gid_t; n as usize];
        let got = libc::getgroups(n, g.as_mut_ptr());
        g.truncate(got.max(0) as usize);
        g
    }
}

/// `"1 0"` → `Some((1, 0))`.
pub fn parse_range(text: &str) -> Option<(u32, u32)> {
    let mut it = text.split_whitespace().map(str::parse::<u32>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(lo)), Some(Ok(hi)), None) => Some((lo, hi)),
        _ => None,
    }
}

/// The explanation printed (to stderr) when neither socket type opens. Several lines: the two
/// refusals, the facts behind them, and the fix for each place the container may run.
pub fn explain(r: &Refusal, f: &Facts) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "ping: {}: cannot open an ICMP socket", r.target);
    let _ = writeln!(s, "  {}: {}", Kind::Datagram.describe(r.family), r.datagram);
    let mut all: Vec<u32> = vec![f.egid];
    all.extend(f.groups.iter().copied().filter(|g| *g != f.egid));
    let groups = all
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut range_allows = None;
    match &f.range {
        Ok(text) => match parse_range(text) {
            Some((lo, hi)) if lo > hi => {
                range_allows = Some(false);
                let _ = writeln!(
                    s,
                    "    net.ipv4.ping_group_range is \"{text}\": an empty range, no group may open datagram ICMP sockets"
                );
            }
            Some((lo, hi)) => {
                let inside: Vec<String> = all
                    .iter()
                    .filter(|g| (lo..=hi).contains(*g))
                    .map(u32::to_string)
                    .collect();
                range_allows = Some(!inside.is_empty());
                let _ = writeln!(
                    s,
                    "    net.ipv4.ping_group_range is \"{text}\": groups {lo} to {hi} may open datagram ICMP sockets"
                );
                if !inside.is_empty() {
                    let _ = writeln!(
                        s,
                        "    group {} is in that range, so the refusal comes from elsewhere (a seccomp profile, an LSM, or a kernel without ping sockets)",
                        inside.join(", ")
                    );
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "    net.ipv4.ping_group_range reads \"{text}\", which is not two numbers"
                );
            }
        },
        Err(e) => {
            let _ = writeln!(s, "    net.ipv4.ping_group_range could not be read: {e}");
        }
    }
    let _ = writeln!(
        s,
        "    this process's groups: {groups}{}",
        if range_allows == Some(false) {
            " (none in the range)"
        } else {
            ""
        }
    );
    let raw = Kind::Raw.describe(r.family);
    match &r.raw {
        RawAttempt::NotWanted => {
            let _ = writeln!(s, "  {raw}: not tried (--datagram-only)");
        }
        RawAttempt::NoNetRaw => {
            let eff = match &f.effective {
                Ok(set) => format!(" (CapEff {:016x})", set.bits()),
                Err(_) => String::new(),
            };
            let _ = writeln!(
                s,
                "  {raw}: not tried: CAP_NET_RAW is not in this process's effective set{eff}"
            );
        }
        RawAttempt::Failed(e) => {
            let held = match f.net_raw() {
                Some(true) => "CAP_NET_RAW is held",
                Some(false) => "CAP_NET_RAW is not held",
                None => "CAP_NET_RAW unknown",
            };
            let _ = writeln!(s, "  {raw}: {e} ({held})");
        }
    }
    let _ = writeln!(
        s,
        "fix: allow datagram ICMP for the container's groups; this needs no capability, NET_RAW can stay dropped:"
    );
    let _ = writeln!(
        s,
        "  docker run --sysctl net.ipv4.ping_group_range=\"{OPEN_RANGE}\" ..."
    );
    let _ = writeln!(
        s,
        "  compose, under the service:\n    sysctls:\n      net.ipv4.ping_group_range: \"{OPEN_RANGE}\""
    );
    let _ = writeln!(
        s,
        "  Kubernetes, in the pod spec (a safe sysctl since 1.18, no kubelet flag needed):\n    securityContext:\n      sysctls:\n        - name: net.ipv4.ping_group_range\n          value: \"{OPEN_RANGE}\""
    );
    let _ = write!(
        s,
        "  the sysctl is per network namespace: with --network host (or hostNetwork) set it on the host instead, e.g. sysctl -w net.ipv4.ping_group_range=\"{} {}\"",
        f.egid, f.egid
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(raw: RawAttempt) -> Refusal {
        Refusal {
            target: "127.0.0.1".into(),
            family: Family::V4,
            datagram: "Permission denied".into(),
            raw,
        }
    }

    fn facts(range: &str, egid: u32, eff: u64) -> Facts {
        Facts {
            range: Ok(range.into()),
            egid,
            groups: vec![egid, 10],
            effective: Ok(CapSet::from_bits(eff)),
        }
    }

    #[test]
    fn empty_range_without_net_raw() {
        let text = explain(&refusal(RawAttempt::NoNetRaw), &facts("1 0", 65534, 0));
        assert!(text.starts_with("ping: 127.0.0.1: cannot open an ICMP socket\n"));
        assert!(text.contains("SOCK_DGRAM, IPPROTO_ICMP): Permission denied\n"));
        assert!(text.contains("ping_group_range is \"1 0\": an empty range"));
        assert!(text.contains("this process's groups: 65534, 10 (none in the range)"));
        assert!(text.contains(
            "CAP_NET_RAW is not in this process's effective set (CapEff 0000000000000000)"
        ));
        assert!(text.contains("docker run --sysctl net.ipv4.ping_group_range=\"0 2147483647\""));
        assert!(text.contains("sysctls:\n      net.ipv4.ping_group_range: \"0 2147483647\""));
        assert!(
            text.contains("- name: net.ipv4.ping_group_range\n          value: \"0 2147483647\"")
        );
        assert!(text.contains("sysctl -w net.ipv4.ping_group_range=\"65534 65534\""));
    }

    #[test]
    fn range_that_misses_our_groups() {
        let text = explain(&refusal(RawAttempt::NotWanted), &facts("0 0", 1000, 0));
        assert!(text.contains("groups 0 to 0 may open"));
        assert!(text.contains("1000, 10 (none in the range)"));
        assert!(text.contains("not tried (--datagram-only)"));
    }

    #[test]
    fn range_that_includes_us_points_elsewhere() {
        let f = facts("0 2147483647", 0, 1 << 13);
        let text = explain(
            &refusal(RawAttempt::Failed("Operation not permitted".into())),
            &f,
        );
        assert!(text.contains("group 0, 10 is in that range, so the refusal comes from elsewhere"));
        assert!(text.contains("Operation not permitted (CAP_NET_RAW is held)"));
        assert!(!text.contains("none in the range"));
    }

    #[test]
    fn unreadable_facts_are_said_not_guessed() {
        let f = Facts {
            range: Err("/proc/sys/net/ipv4/ping_group_range: No such file".into()),
            egid: 5,
            groups: vec![],
            effective: Err("no /proc".into()),
        };
        let text = explain(&refusal(RawAttempt::Failed("EPERM".into())), &f);
        assert!(
            text.contains("could not be read: /proc/sys/net/ipv4/ping_group_range: No such file")
        );
        assert!(text.contains("this process's groups: 5\n"));
        assert!(text.contains("EPERM (CAP_NET_RAW unknown)"));
    }

    #[test]
    fn parses_ranges() {
        assert_eq!(parse_range("1\t0\n"), Some((1, 0)));
        assert_eq!(parse_range("0 2147483647"), Some((0, 2_147_483_647)));
        assert_eq!(parse_range("0"), None);
        assert_eq!(parse_range("a b"), None);
        assert_eq!(parse_range("1 2 3"), None);
    }

    #[test]
    fn reads_this_process() {
        let f = Facts::gather();
        assert_eq!(f.egid, current_egid());
        assert!(f.effective.is_ok(), "{:?}", f.effective);
    }
}
