//! Fuzz target `kubernetes`: see [`dropcap_fuzz::kubernetes`] for what it checks.

fn main() {
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| dropcap_fuzz::kubernetes(data));
    #[cfg(not(feature = "afl"))]
    dropcap_fuzz::replay(dropcap_fuzz::kubernetes);
}
