//! The noaudit heuristic: which kernel functions mark a capability check as "just asking".
//!
//! No hook on this kernel reports `CAP_OPT_NOAUDIT`, but the callers that pass it are few and
//! known. A check whose kernel stack (5 frames, walked by the BPF program) passes through one
//! of them is a probe: the kernel asked whether the task *has* the capability, e.g. to size an
//! overcommit reserve, and nothing fails when it does not. The ranges computed here are handed
//! to the BPF program, which classifies in the kernel (and caches per code path, see
//! `capable.bpf.c`).

use std::io;

/// Functions that check capabilities without auditing (CAP_OPT_NOAUDIT), and the
/// vm_enough_memory chain whose CAP_SYS_ADMIN check only tunes the overcommit reserve.
pub const NOAUDIT_FUNCTIONS: [&str; 6] = [
    "ns_capable_noaudit",
    "has_ns_capability_noaudit",
    "has_capability_noaudit",
    "security_vm_enough_memory_mm",
    "cap_vm_enough_memory",
    "__vm_enough_memory",
];

/// Address ranges `[start, end)` of [`NOAUDIT_FUNCTIONS`] (and their `.cold` parts).
#[derive(Debug, Clone, Default)]
pub struct NoauditRanges {
    ranges: Vec<(u64, u64)>,
}

impl NoauditRanges {
    /// Reads `/proc/kallsyms`. Addresses are only real with CAP_SYSLOG (kptr_restrict), so
    /// call this before dropping privileges; `Ok` with no ranges means they were hidden.
    pub fn load() -> io::Result<NoauditRanges> {
        Ok(Self::parse(&std::fs::read_to_string("/proc/kallsyms")?))
    }

    /// Each wanted symbol ends where the next higher symbol starts.
    pub fn parse(kallsyms: &str) -> NoauditRanges {
        let mut all: Vec<u64> = Vec::new();
        let mut starts: Vec<u64> = Vec::new();
        for line in kallsyms.lines() {
            let mut parts = line.split_ascii_whitespace();
            let (Some(addr), Some(_kind), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            all.push(addr);
            let base = name.strip_suffix(".cold").unwrap_or(name);
            if NOAUDIT_FUNCTIONS.contains(&base) {
                starts.push(addr);
            }
        }
        all.sort_unstable();
        all.dedup();
        let ranges = starts
            .into_iter()
            .filter_map(|start| {
                let i = all.partition_point(|a| *a <= start);
                all.get(i).map(|end| (start, *end))
            })
            .collect();
        NoauditRanges { ranges }
    }

    /// Up to `N` ranges as the BPF program's `noaudit_lo` / `noaudit_hi` / `noaudit_n` globals.
    pub fn as_arrays<const N: usize>(&self) -> ([u64; N], [u64; N], u32) {
        let mut lo = [0u64; N];
        let mut hi = [0u64; N];
        let n = self.ranges.len().min(N);
        for (i, (s, e)) in self.ranges.iter().take(n).enumerate() {
            lo[i] = *s;
            hi[i] = *e;
        }
        (lo, hi, n as u32)
    }

    /// False when kallsyms hid the addresses: every check then counts as audited.
    pub fn is_available(&self) -> bool {
        !self.ranges.is_empty()
    }

    /// True when a return address lies inside one of the functions.
    pub fn any_within(&self, frames: &[u64]) -> bool {
        frames
            .iter()
            .any(|f| self.ranges.iter().any(|(s, e)| *f >= *s && *f < *e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
ffffffff8120790e t ns_capable_noaudit.cold
ffffffff81207a00 t something_else
ffffffff813680d0 T has_capability_noaudit
ffffffff81368100 T capable
ffffffff81a82a80 T cap_capable
0000000000000000 T hidden_symbol
ffffffff81a82c90 T cap_vm_enough_memory
ffffffff81a82d00 T cap_mmap_addr
";

    #[test]
    fn ranges_end_at_next_symbol() {
        let r = NoauditRanges::parse(SAMPLE);
        assert!(r.is_available());
        assert!(r.any_within(&[0xffffffff813680d0]));
        assert!(r.any_within(&[0xffffffff813680ff]));
        assert!(!r.any_within(&[0xffffffff81368100]));
        assert!(r.any_within(&[0, 0xffffffff8120790f]));
        assert!(r.any_within(&[0xffffffff81a82cff]));
        assert!(!r.any_within(&[0xffffffff81a82a90]));
    }

    #[test]
    fn arrays_for_the_bpf_program() {
        let r = NoauditRanges::parse(SAMPLE);
        let (lo, hi, n) = r.as_arrays::<16>();
        assert_eq!(n, 3);
        assert_eq!(lo[0], 0xffffffff8120790e);
        assert_eq!(hi[0], 0xffffffff81207a00);
        assert_eq!((lo[3], hi[3]), (0, 0));
        let (_, _, capped) = r.as_arrays::<2>();
        assert_eq!(capped, 2);
    }

    #[test]
    fn hidden_addresses_mean_unavailable() {
        let r = NoauditRanges::parse("0000000000000000 T ns_capable_noaudit\n");
        assert!(!r.is_available());
        assert!(!r.any_within(&[0]));
    }
}
