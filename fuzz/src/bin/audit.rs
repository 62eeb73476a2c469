//! Fuzz target `audit`: see [`dropcap_fuzz::audit`] for what it checks.

fn main() {
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| dropcap_fuzz::audit(data));
    #[cfg(not(feature = "afl"))]
    dropcap_fuzz::replay(dropcap_fuzz::audit);
}
