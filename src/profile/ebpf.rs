//! Adapter from the eBPF tracer (`crate::trace`) to the profiler's [`super::trace::Tracer`].

use super::trace::Tracer;

/// The tracer of this machine, or why there is none (the profile then starts from the whole
/// default set and says so).
pub fn system_tracer() -> Result<Box<dyn Tracer>, String> {
    Err("the eBPF tracer is not built into this dropcap yet".to_string())
}
