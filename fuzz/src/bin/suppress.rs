//! Fuzz target `suppress`: see [`dropcap_fuzz::suppress`] for what it checks.

fn main() {
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| dropcap_fuzz::suppress(data));
    #[cfg(not(feature = "afl"))]
    dropcap_fuzz::replay(dropcap_fuzz::suppress);
}
