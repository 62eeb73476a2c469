//! Fuzz target `caps_text`: see [`dropcap_fuzz::caps_text`] for what it checks.

fn main() {
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| dropcap_fuzz::caps_text(data));
    #[cfg(not(feature = "afl"))]
    dropcap_fuzz::replay(dropcap_fuzz::caps_text);
}
