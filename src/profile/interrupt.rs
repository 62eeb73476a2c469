//! Ctrl-C, SIGTERM and SIGHUP only raise a flag; every wait in a trial polls it and unwinds
//! with [`super::ProfileError::Interrupted`], so the guards that own containers and process
//! groups remove them on the way out. Trial processes run in their own process group, so the
//! terminal's Ctrl-C reaches only dropcap, which then cleans up in order.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

pub fn check() -> Result<(), super::ProfileError> {
    if requested() {
        Err(super::ProfileError::Interrupted)
    } else {
        Ok(())
    }
}
