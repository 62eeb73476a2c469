//! Starting a command so that its very first capability check is already traced.
//!
//! The child is forked and then held on a pipe until the tracer has put its pid in the
//! kernel's follow map; only then does it exec. `std::process::Command` cannot do this:
//! `spawn` waits until the child has exec'd (it reports exec errors through a pipe), so a
//! child stopped before exec (`pre_exec` + SIGSTOP) deadlocks it.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LaunchError {
    #[error("no command given")]
    Empty,
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{0}: argument contains a NUL byte")]
    Nul(String),
    #[error("cannot run {cmd}: {source}")]
    Exec { cmd: String, source: io::Error },
    #[error("starting {cmd}: {source}")]
    Os { cmd: String, source: io::Error },
}

/// A started command. Dropping it before [`Launched::release`] kills the held child, so a
/// tracer that fails to attach never leaves a process behind.
#[derive(Debug)]
pub struct Launched {
    pid: libc::pid_t,
    cmd: String,
    /// Write end of the hold pipe; `Some` until released.
    hold: Option<libc::c_int>,
    /// Read end of the exec-error pipe (close-on-exec in the child).
    report: Option<libc::c_int>,
    status: Option<ExitStatus>,
}

impl Launched {
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child exec. Fails with the exec error when the command could not be run
    /// (not executable, wrong format ...); the child is then already reaped.
    pub fn release(&mut self) -> Result<(), LaunchError> {
        let Some(hold) = self.hold.take() else {
            return Ok(());
        };
        let go = [1u8];
        // SAFETY: plain syscalls on fds this struct owns.
        unsafe {
            libc::write(hold, go.as_ptr().cast(), 1);
            libc::close(hold);
        }
        let Some(report) = self.report.take() else {
            return Ok(());
        };
        let mut errno = [0u8; 4];
        let mut got = 0usize;
        while got < 4 {
            // SAFETY: reading into a local buffer from an fd we own.
            let n = unsafe { libc::read(report, errno[got..].as_mut_ptr().cast(), 4 - got) };
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        // SAFETY: closing an fd we own.
        unsafe { libc::close(report) };
        if got == 4 {
            let _ = self.wait();
            return Err(LaunchError::Exec {
                cmd: self.cmd.clone(),
                source: io::Error::from_raw_os_error(i32::from_ne_bytes(errno)),
            });
        }
        Ok(())
    }

    /// Non-blocking: the exit status once the child has ended.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.reap(libc::WNOHANG)
    }

    /// Blocks until the child ends.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(s) = self.reap(0)? {
                return Ok(s);
            }
        }
    }

    /// Sends a signal to the child (ignored once it has been reaped, so a recycled pid is
    /// never hit).
    pub fn signal(&self, sig: libc::c_int) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: kill(2) on our own unreaped child.
        if unsafe { libc::kill(self.pid, sig) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn reap(&mut self, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(self.pid, &mut status, flags) };
        if r < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(err);
        }
        if r == 0 {
            return Ok(None);
        }
        let s = ExitStatus::from_raw(status);
        self.status = Some(s);
        Ok(Some(s))
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        if let Some(hold) = self.hold.take() {
            // Closing the hold pipe without a byte makes the child _exit(127) before exec.
            // SAFETY: closing fds we own.
            unsafe { libc::close(hold) };
            if let Some(r) = self.report.take() {
                unsafe { libc::close(r) };
            }
            let _ = self.wait();
        }
    }
}

/// Finds the program the way a shell does: a name with a slash is used as is, otherwise the
/// first executable regular file of that name in `PATH`.
pub(crate) fn resolve(program: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let p = Path::new(program);
    if program.as_bytes().contains(&b'/') {
        return Some(p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(p))
        .find(|c| {
            std::fs::metadata(c).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn cstring(s: &OsStr) -> Result<CString, LaunchError> {
    CString::new(s.as_bytes()).map_err(|_| LaunchError::Nul(s.to_string_lossy().into_owned()))
}

fn pipe_cloexec(cmd: &str) -> Result<[libc::c_int; 2], LaunchError> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(LaunchError::Os {
            cmd: cmd.to_string(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(fds)
}

/// Forks `cmd` and holds it before exec. Everything the child needs is prepared before the
/// fork, so between fork and exec it calls only async-signal-safe functions (read, write,
/// execve, _exit): safe even when the caller has other threads.
pub fn spawn_held(cmd: &[OsString]) -> Result<Launched, LaunchError> {
    let first = cmd.first().ok_or(LaunchError::Empty)?;
    let name = first.to_string_lossy().into_owned();
    let path = resolve(first).ok_or_else(|| LaunchError::NotFound(name.clone()))?;
    let path_c = cstring(path.as_os_str())?;
    let args: Vec<CString> = cmd.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());

    let hold = pipe_cloexec(&name)?;
    let report = match pipe_cloexec(&name) {
        Ok(r) => r,
        Err(e) => {
            // SAFETY: closing the fds just created.
            unsafe {
                libc::close(hold[0]);
                libc::close(hold[1]);
            }
            return Err(e);
        }
    };
    // SAFETY: the child branch only calls async-signal-safe functions on prepared data.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let source = io::Error::last_os_error();
        unsafe {
            for fd in [hold[0], hold[1], report[0], report[1]] {
                libc::close(fd);
            }
        }
        return Err(LaunchError::Os { cmd: name, source });
    }
    if pid == 0 {
        // Child.
        unsafe {
            libc::close(hold[1]);
            libc::close(report[0]);
            let mut b = 0u8;
            let n = loop {
                let n = libc::read(hold[0], (&mut b as *mut u8).cast(), 1);
                if n < 0 && *libc::__errno_location() == libc::EINTR {
                    continue;
                }
                break n;
            };
            if n != 1 {
                libc::_exit(127);
            }
            libc::execve(path_c.as_ptr(), argv.as_ptr(), envp.as_ptr());
            let errno = (*libc::__errno_location()).to_ne_bytes();
            libc::write(report[1], errno.as_ptr().cast(), 4);
            libc::_exit(127);
        }
    }
    // Parent.
    unsafe {
        libc::close(hold[0]);
        libc::close(report[1]);
    }
    Ok(Launched {
        pid,
        cmd: name,
        hold: Some(hold[1]),
        report: Some(report[0]),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn runs_after_release() {
        let mut l = spawn_held(&os(&["sh", "-c", "exit 3"])).unwrap();
        assert_eq!(l.try_wait().unwrap(), None, "held child must not run yet");
        l.release().unwrap();
        assert_eq!(l.wait().unwrap().code(), Some(3));
    }

    #[test]
    fn drop_before_release_reaps_child() {
        let l = spawn_held(&os(&["sh", "-c", "exit 0"])).unwrap();
        let pid = l.pid();
        drop(l);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists() || {
                // A recycled pid would belong to someone else; ours must not be a zombie.
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                !stat.contains(") Z ")
            }
        );
    }

    #[test]
    fn missing_command_is_reported() {
        assert!(matches!(
            spawn_held(&os(&["dropcap-no-such-command-xyz"])),
            Err(LaunchError::NotFound(_))
        ));
        assert!(matches!(spawn_held(&[]), Err(LaunchError::Empty)));
    }

    #[test]
    fn exec_failure_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("not-a-program");
        std::fs::write(&f, b"\x00\x01garbage").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut l = spawn_held(&[f.into_os_string()]).unwrap();
        assert!(matches!(l.release(), Err(LaunchError::Exec { .. })));
    }
}
