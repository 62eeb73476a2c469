//! The capability model shared by every dropcap command.
//!
//! `Cap` is a capability number, `CapSet` a 64-bit set as the kernel stores it. All facts come
//! from [`table::TABLE`]; parsing lives in [`parse`], ecosystem spellings in [`spell`].

pub mod outside;
pub mod parse;
pub mod spell;
pub mod table;

use std::fmt;

pub use parse::{parse_cap, parse_list, parse_mask, parse_set, CapParseError, FileCaps};
pub use table::{member, CapInfo, Risk, LAST_CAP, TABLE};

/// One capability, by kernel number (0..=63). Numbers the table does not name are kept, not
/// rejected: a newer kernel may report them in `/proc/PID/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cap(u8);

impl Cap {
    pub const CHOWN: Cap = Cap(0);
    pub const DAC_OVERRIDE: Cap = Cap(1);
    pub const SETGID: Cap = Cap(6);
    pub const SETUID: Cap = Cap(7);
    pub const NET_BIND_SERVICE: Cap = Cap(10);
    pub const NET_ADMIN: Cap = Cap(12);
    pub const NET_RAW: Cap = Cap(13);
    pub const SYS_ADMIN: Cap = Cap(21);

    /// `None` above 63, the width of the kernel's masks.
    pub fn new(number: u8) -> Option<Cap> {
        (number <= 63).then_some(Cap(number))
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// Facts from the table; `None` for numbers newer than the table.
    pub fn info(self) -> Option<&'static CapInfo> {
        TABLE.get(self.0 as usize)
    }

    /// Canonical name as Docker, compose and Kubernetes spell it (`NET_RAW`), or `cap_41` for
    /// numbers the table does not know, which is also how libcap prints them.
    pub fn name(self) -> String {
        match self.info() {
            Some(i) => i.name.to_string(),
            None => format!("cap_{}", self.0),
        }
    }

    /// Kernel spelling: `CAP_NET_RAW`.
    pub fn kernel_name(self) -> String {
        match self.info() {
            Some(i) => format!("CAP_{}", i.name),
            None => format!("cap_{}", self.0),
        }
    }

    /// libcap spelling: `cap_net_raw`.
    pub fn libcap_name(self) -> String {
        match self.info() {
            Some(i) => format!("cap_{}", i.name.to_ascii_lowercase()),
            None => format!("cap_{}", self.0),
        }
    }

    pub fn risk(self) -> Risk {
        // Unknown capabilities are new kernel powers nobody has reviewed yet.
        self.info().map_or(Risk::High, |i| i.risk)
    }

    /// Every capability the table names, in number order.
    pub fn all_known() -> impl Iterator<Item = Cap> {
        (0..=LAST_CAP).map(Cap)
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info() {
            Some(i) => f.write_str(i.name),
            None => write!(f, "cap_{}", self.0),
        }
    }
}

impl std::str::FromStr for Cap {
    type Err = CapParseError;
    fn from_str(s: &str) -> Result<Cap, CapParseError> {
        parse::parse_cap(s)
    }
}

impl serde::Serialize for Cap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// A set of capabilities as the kernel stores it: bit N is capability N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct CapSet(pub u64);

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    pub fn from_bits(bits: u64) -> CapSet {
        CapSet(bits)
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    /// Every capability the table names: what `ALL` means in Docker, compose and Kubernetes.
    pub fn all_known() -> CapSet {
        CapSet((1u64 << (LAST_CAP + 1)) - 1)
    }

    /// Capabilities whose table entry carries all of the given [`member`] flags.
    pub fn with_member(flag: u8) -> CapSet {
        TABLE
            .iter()
            .filter(|i| i.member & flag == flag)
            .map(|i| Cap(i.number))
            .collect()
    }

    pub fn docker_default() -> CapSet {
        Self::with_member(member::DOCKER)
    }
    pub fn podman_default() -> CapSet {
        Self::with_member(member::PODMAN)
    }
    pub fn crio_default() -> CapSet {
        Self::with_member(member::CRIO)
    }
    pub fn runc_default() -> CapSet {
        Self::with_member(member::RUNC)
    }
    pub fn pss_baseline() -> CapSet {
        Self::with_member(member::PSS_BASELINE)
    }
    pub fn dangerous() -> CapSet {
        Self::with_member(member::DANGEROUS)
    }
    pub fn file_permission() -> CapSet {
        Self::with_member(member::FILE_PERMISSION)
    }

    pub fn contains(self, cap: Cap) -> bool {
        self.0 & (1u64 << cap.0) != 0
    }
    pub fn insert(&mut self, cap: Cap) {
        self.0 |= 1u64 << cap.0;
    }
    pub fn remove(&mut self, cap: Cap) {
        self.0 &= !(1u64 << cap.0);
    }
    pub fn with(mut self, cap: Cap) -> CapSet {
        self.insert(cap);
        self
    }
    pub fn without(mut self, cap: Cap) -> CapSet {
        self.remove(cap);
        self
    }
    pub fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }
    pub fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }
    pub fn difference(self, other: CapSet) -> CapSet {
        CapSet(self.0 & !other.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn is_subset(self, other: CapSet) -> bool {
        self.0 & !other.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    pub fn iter(self) -> impl Iterator<Item = Cap> {
        (0u8..64)
            .filter(move |n| self.0 & (1u64 << n) != 0)
            .map(Cap)
    }
    pub fn names(self) -> Vec<String> {
        self.iter().map(Cap::name).collect()
    }
    /// The riskiest member, for sorting and summaries.
    pub fn max_risk(self) -> Option<Risk> {
        self.iter().map(Cap::risk).max()
    }

    /// The well-known default set this set equals, if any; lets `decode` say "Docker default".
    pub fn well_known_name(self) -> Option<&'static str> {
        let known = [
            (CapSet::docker_default(), "Docker default"),
            (CapSet::podman_default(), "Podman default"),
            (CapSet::crio_default(), "CRI-O default"),
            (CapSet::runc_default(), "runc spec default"),
            (CapSet::pss_baseline(), "PSS baseline allow-list"),
            (CapSet::all_known(), "all capabilities"),
        ];
        known.iter().find(|(s, _)| *s == self).map(|(_, n)| *n)
    }

    /// The hex mask as `/proc/PID/status` and `capsh --decode` print it.
    pub fn to_hex(self) -> String {
        format!("0x{:016x}", self.0)
    }
}

impl FromIterator<Cap> for CapSet {
    fn from_iter<I: IntoIterator<Item = Cap>>(it: I) -> CapSet {
        let mut s = CapSet::EMPTY;
        for c in it {
            s.insert(c);
        }
        s
    }
}

impl fmt::Display for CapSet {
    /// Comma-separated canonical names; `-` for the empty set so a table cell is never blank.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        let mut first = true;
        for c in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for CapSet {
    type Err = CapParseError;
    fn from_str(s: &str) -> Result<CapSet, CapParseError> {
        parse_list(s)
    }
}

impl serde::Serialize for CapSet {
    /// Sets serialise as a list of canonical names: the stable JSON form every command uses.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Cap::name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_number_and_names_are_unique() {
        for (i, info) in TABLE.iter().enumerate() {
            assert_eq!(info.number as usize, i, "{}", info.name);
            assert!(!info.summary.is_empty());
            assert!(info
                .name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_'));
        }
        let mut names: Vec<_> = TABLE.iter().map(|i| i.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
    }

    #[test]
    fn default_sets_have_documented_sizes() {
        assert_eq!(CapSet::docker_default().len(), 14);
        assert_eq!(CapSet::docker_default().bits(), 0xa80425fb);
        assert_eq!(CapSet::podman_default().len(), 11);
        assert_eq!(CapSet::crio_default().len(), 9);
        assert_eq!(CapSet::runc_default().len(), 3);
        assert_eq!(CapSet::pss_baseline().len(), 13);
        assert_eq!(
            CapSet::dangerous().names(),
            vec![
                "DAC_READ_SEARCH",
                "NET_ADMIN",
                "SYS_MODULE",
                "SYS_RAWIO",
                "SYS_PTRACE",
                "SYS_ADMIN",
                "SYS_BOOT",
                "MAC_ADMIN",
                "PERFMON",
                "BPF"
            ]
        );
        assert_eq!(
            CapSet::pss_baseline(),
            CapSet::docker_default().without(Cap::NET_RAW)
        );
        // Podman = Docker minus AUDIT_WRITE, MKNOD and NET_RAW.
        assert_eq!(
            CapSet::docker_default()
                .difference(CapSet::podman_default())
                .names(),
            vec!["NET_RAW", "MKNOD", "AUDIT_WRITE"]
        );
    }

    #[test]
    fn unknown_numbers_print_as_cap_n() {
        let c = Cap::new(41).unwrap();
        assert_eq!(c.name(), "cap_41");
        assert_eq!(c.libcap_name(), "cap_41");
        assert!(c.info().is_none());
        assert_eq!(Cap::new(63).unwrap().to_string(), "cap_63");
        assert!(Cap::new(64).is_none());
        assert_eq!(CapSet(u64::MAX).len(), 64);
    }

    #[test]
    fn named_constants_match_table() {
        for (c, n) in [
            (Cap::CHOWN, "CHOWN"),
            (Cap::DAC_OVERRIDE, "DAC_OVERRIDE"),
            (Cap::SETGID, "SETGID"),
            (Cap::SETUID, "SETUID"),
            (Cap::NET_BIND_SERVICE, "NET_BIND_SERVICE"),
            (Cap::NET_ADMIN, "NET_ADMIN"),
            (Cap::NET_RAW, "NET_RAW"),
            (Cap::SYS_ADMIN, "SYS_ADMIN"),
        ] {
            assert_eq!(c.name(), n);
        }
    }
}
