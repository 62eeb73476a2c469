//! The bounding set a container really gets from a default set plus add/drop lists.

use crate::caps::CapSet;

/// Follows Moby's `TweakCapabilities`, which compose, Podman and containerd's CRI mirror:
/// privileged wins over everything; `ALL` in add means "all except what is dropped"; `ALL` in
/// drop (without `ALL` in add) means "exactly what is added"; otherwise drop from the
/// defaults, then add, so a capability in both lists is kept (the add is applied last).
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
        // `dropped` contains every cap when drop has ALL too; Moby then keeps nothing but
        // treats "ALL" as a literal name, so only explicit drops count.
        let explicit_drops = if drops_all { CapSet::EMPTY } else { dropped };
        return CapSet::all_known().difference(explicit_drops);
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
            effective_caps(
                d,
                set("NET_BIND_SERVICE"),
                false,
                CapSet::all_known(),
                true,
                false
            ),
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
            effective_caps(
                d,
                CapSet::all_known(),
                true,
                CapSet::all_known(),
                true,
                false
            ),
            CapSet::all_known()
        );
        assert_eq!(
            effective_caps(d, CapSet::all_known(), true, set("SYS_ADMIN"), false, false),
            CapSet::all_known().without(Cap::SYS_ADMIN)
        );
        assert_eq!(
            effective_caps(d, none, false, CapSet::all_known(), true, true),
            CapSet::all_known()
        );
    }
}
