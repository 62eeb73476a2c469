//! Fuzz target `proc_status`: see [`dropcap_fuzz::proc_status`] for what it checks.

fn main() {
    #[cfg(feature = "afl")]
    afl::fuzz!(|data: &[u8]| dropcap_fuzz::proc_status(data));
    #[cfg(not(feature = "afl"))]
    dropcap_fuzz::replay(dropcap_fuzz::proc_status);
}
