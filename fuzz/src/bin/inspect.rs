//! Fuzz target `inspect`: see [`dropcap_fuzz::inspect`] for what it checks.

fn main() {
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| dropcap_fuzz::inspect(data));
    #[cfg(not(feature = "afl"))]
    dropcap_fuzz::replay(dropcap_fuzz::inspect);
}
