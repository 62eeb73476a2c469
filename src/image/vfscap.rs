//! The `security.capability` xattr (`struct vfs_ns_cap_data` in the kernel's
//! `include/uapi/linux/capability.h`), decoded exactly as `get_vfs_caps_from_disk` does: the
//! revision in the top byte of the first word fixes the length, and any other length is not
//! a file capability at all (the kernel ignores it, so must we, but we say so).

use crate::caps::{Cap, CapSet};
use serde::Serialize;
use thiserror::Error;

const REVISION_MASK: u32 = 0xFF00_0000;
const FLAG_EFFECTIVE: u32 = 0x0000_0001;
const REVISION_1: u32 = 0x0100_0000;
const REVISION_2: u32 = 0x0200_0000;
const REVISION_3: u32 = 0x0300_0000;

/// A decoded file capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FileCap {
    /// 1 (32-bit sets), 2 (64-bit sets) or 3 (64-bit sets plus a namespace root uid).
    pub revision: u8,
    pub permitted: CapSet,
    pub inheritable: CapSet,
    /// The effective bit: the program is "capability-dumb" and gets its permitted set raised
    /// at exec; the kernel then refuses the exec when it cannot grant all of it.
    pub effective: bool,
    /// Revision 3: the uid that is root in the user namespace the capability applies to; the
    /// kernel ignores the capability in any namespace whose root is another uid.
    pub rootid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VfsCapError {
    #[error("security.capability is {len} bytes, too short for a header")]
    TooShort { len: usize },
    #[error("security.capability has unknown revision 0x{magic:08x}")]
    UnknownRevision { magic: u32 },
    #[error("security.capability revision {revision} must be {expected} bytes, not {len}")]
    WrongLength {
        revision: u8,
        expected: usize,
        len: usize,
    },
}

fn word(bytes: &[u8], index: usize) -> u32 {
    let at = index * 4;
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_le_bytes)
}

impl FileCap {
    pub fn decode(bytes: &[u8]) -> Result<FileCap, VfsCapError> {
        if bytes.len() < 4 {
            return Err(VfsCapError::TooShort { len: bytes.len() });
        }
        let magic = word(bytes, 0);
        let (revision, expected) = match magic & REVISION_MASK {
            REVISION_1 => (1, 12),
            REVISION_2 => (2, 20),
            REVISION_3 => (3, 24),
            _ => return Err(VfsCapError::UnknownRevision { magic }),
        };
        if bytes.len() != expected {
            return Err(VfsCapError::WrongLength {
                revision,
                expected,
                len: bytes.len(),
            });
        }
        let (permitted, inheritable) = if revision == 1 {
            (u64::from(word(bytes, 1)), u64::from(word(bytes, 2)))
        } else {
            (
                u64::from(word(bytes, 1)) | u64::from(word(bytes, 3)) << 32,
                u64::from(word(bytes, 2)) | u64::from(word(bytes, 4)) << 32,
            )
        };
        Ok(FileCap {
            revision,
            permitted: CapSet(permitted),
            inheritable: CapSet(inheritable),
            effective: magic & FLAG_EFFECTIVE != 0,
            rootid: (revision == 3).then(|| word(bytes, 5)),
        })
    }

    /// The xattr bytes for this capability, as `setcap` writes them; tests build layers with it.
    pub fn encode(&self) -> Vec<u8> {
        let magic = match self.revision {
            1 => REVISION_1,
            3 => REVISION_3,
            _ => REVISION_2,
        } | u32::from(self.effective);
        let (p, i) = (self.permitted.bits(), self.inheritable.bits());
        let mut words = vec![magic, p as u32, i as u32];
        if self.revision != 1 {
            words.extend([(p >> 32) as u32, (i >> 32) as u32]);
        }
        if self.revision == 3 {
            words.push(self.rootid.unwrap_or(0));
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Whether the capability applies to processes of the initial user namespace (and of any
    /// container without user-namespace remapping): revision 3 only when its root is uid 0.
    pub fn applies_without_userns(&self) -> bool {
        self.rootid.unwrap_or(0) == 0
    }

    /// libcap's text (`cap_net_raw=ep`), as `getcap` prints it, so the two can be compared.
    pub fn text(&self) -> String {
        let mut clauses: Vec<(String, CapSet)> = Vec::new();
        for cap in self.permitted.union(self.inheritable).iter() {
            let mut flags = String::new();
            if self.effective && self.permitted.contains(cap) {
                flags.push('e');
            }
            if self.inheritable.contains(cap) {
                flags.push('i');
            }
            if self.permitted.contains(cap) {
                flags.push('p');
            }
            match clauses.iter_mut().find(|(f, _)| *f == flags) {
                Some((_, set)) => set.insert(cap),
                None => clauses.push((flags, CapSet::EMPTY.with(cap))),
            }
        }
        if clauses.is_empty() {
            return "=".to_string();
        }
        clauses
            .iter()
            .map(|(flags, set)| {
                let names: Vec<String> = set.iter().map(Cap::libcap_name).collect();
                format!("{}={flags}", names.join(","))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping_bytes() -> Vec<u8> {
        // What `setcap cap_net_raw=ep /usr/bin/ping` writes (revision 2).
        let mut b = vec![0x01, 0, 0, 0x02];
        b.extend(0x2000u32.to_le_bytes());
        b.extend([0; 12]);
        b
    }

    #[test]
    fn decodes_revision_2_with_the_effective_bit() {
        let c = FileCap::decode(&ping_bytes()).unwrap();
        assert_eq!(c.revision, 2);
        assert_eq!(c.permitted, CapSet::EMPTY.with(Cap::NET_RAW));
        assert!(c.effective);
        assert_eq!(c.rootid, None);
        assert_eq!(c.text(), "cap_net_raw=ep");
    }

    #[test]
    fn decodes_revision_1_and_3() {
        let mut r1 = vec![0, 0, 0, 0x01];
        r1.extend(0x1u32.to_le_bytes());
        r1.extend(0x2u32.to_le_bytes());
        let c = FileCap::decode(&r1).unwrap();
        assert_eq!((c.revision, c.effective), (1, false));
        assert_eq!(c.permitted, CapSet(1));
        assert_eq!(c.inheritable, CapSet(2));
        assert_eq!(c.text(), "cap_chown=p cap_dac_override=i");

        let r3 = FileCap {
            revision: 3,
            permitted: CapSet(1 << 40),
            inheritable: CapSet::EMPTY,
            effective: true,
            rootid: Some(100000),
        };
        let back = FileCap::decode(&r3.encode()).unwrap();
        assert_eq!(back, r3);
        assert!(!back.applies_without_userns());
    }

    #[test]
    fn wrong_lengths_and_revisions_are_errors() {
        assert_eq!(
            FileCap::decode(&[1, 0]),
            Err(VfsCapError::TooShort { len: 2 })
        );
        let mut long = ping_bytes();
        long.push(0);
        assert!(matches!(
            FileCap::decode(&long),
            Err(VfsCapError::WrongLength {
                revision: 2,
                expected: 20,
                len: 21
            })
        ));
        assert!(matches!(
            FileCap::decode(&[0, 0, 0, 0x09, 0, 0, 0, 0]),
            Err(VfsCapError::UnknownRevision { .. })
        ));
    }

    #[test]
    fn encode_round_trips_any_sets() {
        for rev in [1u8, 2, 3] {
            for bits in [0u64, 1, 0x2000, 0xffff_ffff, 0x1_0000_0001, u64::MAX] {
                let bits = if rev == 1 { bits & 0xffff_ffff } else { bits };
                let c = FileCap {
                    revision: rev,
                    permitted: CapSet(bits),
                    inheritable: CapSet(
                        bits.rotate_left(3) & if rev == 1 { 0xffff_ffff } else { u64::MAX },
                    ),
                    effective: bits & 1 == 1,
                    rootid: (rev == 3).then_some(7),
                };
                assert_eq!(FileCap::decode(&c.encode()), Ok(c));
            }
        }
    }
}
