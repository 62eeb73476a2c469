//! Loading `bpf/capable.bpf.o` with aya and reading what it produces.
//!
//! The object is compiled from `bpf/capable.bpf.c` by `scripts/bpf-build.sh` and committed,
//! so `cargo build` needs no clang; CI rebuilds it and fails when it is stale.

use super::event::RawEvent;
use super::kallsyms::NoauditRanges;
use super::TraceError;
use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};
use std::os::fd::AsRawFd;
use std::time::Duration;

static OBJECT: &[u8] = aya::include_bytes_aligned!("bpf/capable.bpf.o");

/// `MODE_*` of capable.bpf.c.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    All,
    Pids,
    Cgroup { id: u64, level: u32 },
}

const COUNT_SEEN: u32 = 0;
const COUNT_LOST: u32 = 1;

/// The loaded, attached programs. Dropping it detaches everything (aya closes the link fds).
pub(crate) struct Loaded {
    ebpf: Ebpf,
    ring: RingBuf<MapData>,
}

fn load_err(e: impl std::fmt::Display) -> TraceError {
    TraceError::Load(e.to_string())
}

impl Loaded {
    pub fn load(mode: Mode, noaudit: &NoauditRanges) -> Result<Loaded, TraceError> {
        let (mode_n, cgroup, level) = match mode {
            Mode::All => (0u32, 0u64, 0u32),
            Mode::Pids => (1, 0, 0),
            Mode::Cgroup { id, level } => (2, id, level),
        };
        let me = std::process::id();
        // NOAUDIT_MAX of capable.bpf.c.
        let (lo, hi, n) = noaudit.as_arrays::<16>();
        let obj_spec = super::object::kernel_spec::<{ super::syscalls::COUNT }>();
        let words = bit_words();
        let mut ebpf = EbpfLoader::new()
            .map_max_entries("user_bits", words)
            .map_max_entries("fork_bits", words)
            .override_global("noaudit_n", &n, true)
            .override_global("noaudit_lo", &lo, true)
            .override_global("noaudit_hi", &hi, true)
            .override_global("target_mode", &mode_n, true)
            .override_global("target_cgroup", &cgroup, true)
            .override_global("target_level", &level, true)
            .override_global("self_tgid", &me, true)
            .override_global("obj_spec", &obj_spec, true)
            .load(OBJECT)
            .map_err(load_err)?;
        let btf = Btf::from_sys_fs().map_err(|e| TraceError::NoBtf(e.to_string()))?;
        let mut attach = |prog: &str, tp: &str| -> Result<(), TraceError> {
            let p: &mut BtfTracePoint = ebpf
                .program_mut(prog)
                .ok_or_else(|| load_err(format!("program {prog} missing from the object")))?
                .try_into()
                .map_err(load_err)?;
            p.load(tp, &btf).map_err(|e| TraceError::Attach {
                hook: tp.to_string(),
                detail: error_chain(&e),
            })?;
            p.attach().map_err(|e| TraceError::Attach {
                hook: tp.to_string(),
                detail: error_chain(&e),
            })?;
            Ok(())
        };
        // Fork/exit bookkeeping only matters when following pids; other modes skip its cost.
        if matches!(mode, Mode::Pids) {
            attach("on_fork", "sched_process_fork")?;
            attach("on_exit", "sched_process_exit")?;
        }
        attach("on_cap_capable", "cap_capable")?;
        let ring = ebpf
            .take_map("events")
            .ok_or_else(|| load_err("map events missing from the object"))?;
        let ring = RingBuf::try_from(ring).map_err(load_err)?;
        Ok(Loaded { ebpf, ring })
    }

    /// Adds a process (thread group) to the follow map.
    pub fn follow(&mut self, tgid: u32) -> Result<(), TraceError> {
        let map = self
            .ebpf
            .map_mut("tgids")
            .ok_or_else(|| load_err("map tgids missing"))?;
        let mut m: HashMap<&mut MapData, u32, u8> = HashMap::try_from(map).map_err(load_err)?;
        m.insert(tgid, 1, 0).map_err(load_err)?;
        // The kernel's filter bit, after the entry it points to. Only this process writes
        // user_bits, so reading and rewriting a word loses nothing.
        let map = self
            .ebpf
            .map_mut("user_bits")
            .ok_or_else(|| load_err("map user_bits missing"))?;
        let mut bits: Array<&mut MapData, u64> = Array::try_from(map).map_err(load_err)?;
        let word = tgid >> 6;
        if word < bits.len() {
            let old = bits.get(&word, 0).map_err(load_err)?;
            bits.set(word, old | 1u64 << (tgid & 63), 0)
                .map_err(load_err)?;
        }
        Ok(())
    }

    /// Number of processes still followed (0 once all of them have exited). Entries whose
    /// process is gone or a zombie are removed first: a process that exited before its pid
    /// reached the map never triggers the exit hook, and would be followed forever.
    pub fn followed(&mut self) -> Result<usize, TraceError> {
        let map = self
            .ebpf
            .map_mut("tgids")
            .ok_or_else(|| load_err("map tgids missing"))?;
        let mut m: HashMap<&mut MapData, u32, u8> = HashMap::try_from(map).map_err(load_err)?;
        let keys: Vec<u32> = m.keys().filter_map(Result::ok).collect();
        let mut alive = 0;
        for k in keys {
            if super::is_running(k) {
                alive += 1;
            } else {
                let _ = m.remove(&k);
            }
        }
        Ok(alive)
    }

    /// (seen, lost) summed over CPUs.
    pub fn counts(&self) -> Result<(u64, u64), TraceError> {
        let map = self
            .ebpf
            .map("counts")
            .ok_or_else(|| load_err("map counts missing"))?;
        let a: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map).map_err(load_err)?;
        let sum = |slot: u32| -> Result<u64, TraceError> {
            Ok(a.get(&slot, 0).map_err(load_err)?.iter().sum())
        };
        Ok((sum(COUNT_SEEN)?, sum(COUNT_LOST)?))
    }

    /// Waits until the kernel signals data (it does so in batches) or `timeout` passes.
    pub fn wait(&self, timeout: Duration) -> Result<(), TraceError> {
        let mut fds = libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: poll on one valid fd.
        let r = unsafe { libc::poll(&mut fds, 1, ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            // A signal (Ctrl-C) interrupts the wait; the caller decides what to do next.
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(TraceError::Io(e));
            }
        }
        Ok(())
    }

    /// Takes every record waiting in the ring buffer; `None` entries are malformed records.
    pub fn drain(&mut self, mut f: impl FnMut(Option<RawEvent>)) {
        while let Some(item) = self.ring.next() {
            f(RawEvent::parse(&item));
        }
    }
}

/// Words of the kernel's follow bitmaps: one bit per possible tgid (`pid_max`, at most 2^22),
/// rounded up. A tgid above them (pid_max raised later) is still found, through the hash map.
fn bit_words() -> u32 {
    const PID_MAX_LIMIT: u32 = 1 << 22;
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(PID_MAX_LIMIT)
        .clamp(64, PID_MAX_LIMIT);
    pid_max.div_ceil(64)
}

/// aya errors wrap the kernel's answer a few levels down; show the whole chain in one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
