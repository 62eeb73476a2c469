//! Property tests: every way dropcap prints a set parses back to the same set, and no input
//! makes a parser panic.

use dropcap::caps::spell::{self, Spelling};
use dropcap::caps::{parse_cap, parse_list, parse_mask, Cap, CapSet, FileCaps};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_list_spelling_round_trips(bits in any::<u64>()) {
        let set = CapSet(bits);
        for sp in [Spelling::Canonical, Spelling::Kernel, Spelling::Libcap, Spelling::Mask] {
            let text = spell::list(set, sp);
            prop_assert_eq!(parse_list(&text).unwrap(), set, "{:?} {}", sp, text);
        }
        prop_assert_eq!(parse_list(&set.to_string()).unwrap(), set);
        prop_assert_eq!(parse_mask(&set.to_hex()).unwrap(), set);
        prop_assert_eq!(parse_mask(&format!("{bits:x}")).unwrap(), set);
        let text = spell::libcap_text(set);
        prop_assert_eq!(parse_list(&text).unwrap(), set, "{}", text);
        let fc = FileCaps::parse(&text).unwrap();
        prop_assert_eq!(fc.effective, set);
        prop_assert_eq!(fc.permitted, set);
    }

    #[test]
    fn docker_flags_round_trip(bits in any::<u64>()) {
        let set = CapSet(bits).intersect(CapSet::all_known());
        let flags = spell::docker_flags(set);
        let added: CapSet = flags
            .split_whitespace()
            .filter_map(|f| f.strip_prefix("--cap-add="))
            .map(|n| parse_cap(n).unwrap())
            .collect();
        prop_assert_eq!(added, set);
        prop_assert!(flags.starts_with("--cap-drop=ALL"));
    }

    #[test]
    fn parsers_never_panic(s in ".{0,64}") {
        let _ = parse_list(&s);
        let _ = parse_cap(&s);
        let _ = parse_mask(&s);
        let _ = FileCaps::parse(&s);
    }

    #[test]
    fn libcap_like_junk_never_panics(s in "[a-z_,=+\\-eip0-9 ]{0,40}") {
        let _ = parse_list(&s);
    }
}

#[test]
fn every_single_cap_in_every_spelling() {
    for n in 0u8..64 {
        let c = Cap::new(n).unwrap();
        for s in [
            c.name(),
            c.kernel_name(),
            c.libcap_name(),
            c.name().to_lowercase(),
            n.to_string(),
        ] {
            assert_eq!(parse_cap(&s), Ok(c), "{s}");
        }
    }
}
