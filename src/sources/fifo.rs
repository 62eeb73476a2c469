//! Named FIFOs on the command line: `audit <(helm template ...)` is a pipe and must keep
//! working, but opening a FIFO nobody writes to blocks forever, like `cat` would.
//!
//! The FIFO is opened without blocking and polled: on a terminal dropcap says what it is
//! waiting for, and after [`WAIT`] without a writer or data the file is an error, so an audit
//! of a directory holding a stray FIFO still ends.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Long enough for `helm template` or `kustomize build` to produce their first bytes.
pub const WAIT: Duration = Duration::from_secs(60);
/// When to tell a person at a terminal why nothing happens.
const SAY_AFTER: Duration = Duration::from_secs(1);

/// Opens `path` for reading once a writer has written something (or closed it), within
/// [`WAIT`].
pub fn open(path: &Path) -> io::Result<File> {
    open_within(path, WAIT)
}

pub(crate) fn open_within(path: &Path, wait: Duration) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let start = Instant::now();
    let mut said = false;
    loop {
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for a file descriptor that `file` keeps open.
        let n = unsafe { libc::poll(&mut pfd, 1, 200) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            break;
        }
        let waited = start.elapsed();
        if waited >= wait {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "FIFO without data after {} s (is anything writing to it?)",
                    wait.as_secs()
                ),
            ));
        }
        if !said && waited >= SAY_AFTER && io::stderr().is_terminal() {
            crate::say!(
                "dropcap: waiting for data on FIFO {}",
                crate::output::path_text(path)
            );
            said = true;
        }
    }
    // Blocking again, so the reader waits for the rest of a slow writer's output.
    // SAFETY: F_GETFL/F_SETFL on a descriptor `file` owns.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn mkfifo(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("f");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        p
    }

    #[test]
    fn a_fifo_nobody_writes_to_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = mkfifo(dir.path());
        let e = open_within(&p, Duration::from_millis(300)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("FIFO without data"), "{e}");
    }

    #[test]
    fn a_slow_writer_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = mkfifo(dir.path());
        let w = p.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut f = std::fs::OpenOptions::new().write(true).open(w).unwrap();
            f.write_all(b"a: 1\n").unwrap();
            std::thread::sleep(Duration::from_millis(300));
            f.write_all(b"b: 2\n").unwrap();
        });
        let mut text = String::new();
        open_within(&p, Duration::from_secs(10))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        writer.join().unwrap();
        assert_eq!(text, "a: 1\nb: 2\n");
    }
}
