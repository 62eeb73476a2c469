//! The bounding set a container really gets from a default set plus add/drop lists.

use crate::caps::CapSet;

/// Follows Moby's `TweakCapabilities`, which compose, Podman and containerd's CRI mirror:
/// privileged wins over everything; `ALL` in add means "all except what is dropped"; `ALL` in
/// drop (without `ALL` in add) means "exactly what is added"; otherwise drop from the
/// defaults, then add, so a capability in both lists is kept (the add is applied last).
///
/// `dropped` holds the capabilities the drop list *names*; an `ALL` entry is only `drops_all`.
/// Moby treats `ALL` as a literal next to named entries: `--cap-add ALL --cap-drop ALL
/// --cap-drop SYS_RESOURCE` yields every capability except SYS_RESOURCE (measured on Docker
/// 20.10: CapBnd 0x3ffeffffff, which starts on this host where all-but-nothing does not).
pub fn effective_caps(
    defaults: CapSet,
    added: CapSet,
    adds_all: bool,
    dropped: CapSet,
    drops_all: bool,
    privileged: bool,
) -> CapSet {
    if privileged {
        return CapSet::all_known();
    }
    if adds_all {
        // Moby: "add all capabilities except the ones named in the drop list" — an `ALL` in
        // the drop list names none, so only explicit drops count.
        return CapSet::all_known().difference(dropped);
    }
    if drops_all {
        return added;
    }
    defaults.difference(dropped).union(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{parse_list, Cap};

    fn set(s: &str) -> CapSet {
        parse_list(s).unwrap()
    }

    #[test]
    fn docker_rules() {
        let d = CapSet::docker_default();
        let none = CapSet::EMPTY;
        assert_eq!(effective_caps(d, none, false, none, false, false), d);
        assert_eq!(
            effective_caps(d, none, false, set("NET_RAW"), false, false),
            d.without(Cap::NET_RAW)
        );
        assert_eq!(
            effective_caps(d, set("NET_BIND_SERVICE"), false, none, true, false),
            set("NET_BIND_SERVICE")
        );
        assert_eq!(
            effective_caps(d, set("SYS_ADMIN"), false, none, false, false),
            d.with(Cap::SYS_ADMIN)
        );
        // Same cap in both lists: the add wins.
        assert_eq!(
            effective_caps(d, set("NET_RAW"), false, set("NET_RAW"), false, false),
            d
        );
        // drop ALL + add ALL: everything.
        assert_eq!(
            effective_caps(d, CapSet::all_known(), true, none, true, false),
            CapSet::all_known()
        );
        // drop ALL + add ALL + an explicit drop: the explicit drop still applies (Moby).
        assert_eq!(
            effective_caps(
                d,
                CapSet::all_known(),
                true,
                set("SYS_RESOURCE"),
                true,
                false
            ),
            CapSet::all_known().without(Cap::new(24).unwrap())
        );
        // drop ALL + a named drop + add the same: only the add.
        assert_eq!(
            effective_caps(d, set("NET_RAW"), false, set("NET_RAW"), true, false),
            set("NET_RAW")
        );
        assert_eq!(
            effective_caps(d, CapSet::all_known(), true, set("SYS_ADMIN"), false, false),
            CapSet::all_known().without(Cap::SYS_ADMIN)
        );
        assert_eq!(
            effective_caps(d, none, false, none, true, true),
            CapSet::all_known()
        );
    }
}
