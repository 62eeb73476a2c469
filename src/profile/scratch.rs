//! Keeps trials of a definition away from everything the user owns, and from each other.
//!
//! - A bind-mounted host path is never mounted: before every trial it is copied afresh into
//!   this profile's scratch directory, and the trial mounts the copy. The copy is made by
//!   `cp -a --preserve=all` (ownership, modes, timestamps, xattrs with file capabilities,
//!   ACLs, hard links, symlinks as symlinks, device nodes): coreutils is the reference for
//!   those semantics on every host an engine runs on, where a Rust rewrite would have to
//!   get each of them right again.
//! - A named volume becomes a volume of this profile, removed and created empty before every
//!   trial, so state one trial leaves cannot make the next one pass.
//! - `depends_on` services are started once, with their own configured capabilities, on an
//!   internal network of this profile that the trials join.
//!
//! Everything is labelled `io.dropcap.profile=<session>` and named `<session>-...`, and
//! removed when the [`Scratch`] is dropped: at the end, on error, and on Ctrl-C (the trials
//! unwind with `Interrupted`, see [`super::interrupt`]).

use super::check::in_netns;
use super::create::{self, LABEL};
use super::definition::Dependency;
use super::exec_in::exec_ok;
use super::probe::network_ok;
use super::runner::{Runner, Target, TrialCaps, TrialResult};
use super::spec::{ContainerSpec, MountKind, ProbeAction};
use super::trace::Tracer;
use super::{interrupt, Check, ProfileError};
use crate::caps::{parse_cap, CapSet};
use crate::engine::client::Client;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a dependency may take to be running (and healthy, when its probe can be run
/// inside it) before the profile gives up.
const DEPENDENCY_START: Duration = Duration::from_secs(60);

/// How long the previous trial's container may hold a volume before the next trial.
const VOLUME_FREE: Duration = Duration::from_secs(30);

pub struct Scratch {
    client: Client,
    pub session: String,
    dir: Option<PathBuf>,
    /// (user's path, scratch copy), refreshed before every trial.
    binds: Vec<(PathBuf, PathBuf)>,
    /// Volumes recreated before every trial.
    volumes: Vec<String>,
    /// Volumes made once (for dependencies), removed at the end.
    fixed_volumes: Vec<String>,
    network: Option<String>,
    dependencies: Vec<String>,
    /// Volume name in the definition → the volume made for the dependencies that mount it.
    shared: std::collections::HashMap<String, String>,
    /// What the report should say about how trials differ from the definition.
    pub notes: Vec<String>,
}

fn engine_err(what: &str, e: impl std::fmt::Display) -> ProfileError {
    ProfileError::Docker {
        args: what.to_string(),
        reason: e.to_string(),
    }
}

impl Scratch {
    /// Rewrites `spec` to use this profile's copies, volumes and network, and starts the
    /// dependencies. Nothing of the user's is touched; everything made is owned by the
    /// returned guard.
    pub fn prepare(
        spec: &mut ContainerSpec,
        dependencies: &[Dependency],
        host: Option<&str>,
        timeout: Duration,
        location: &str,
    ) -> Result<Scratch, ProfileError> {
        let client = Client::open(
            host,
            timeout.max(Duration::from_secs(30)),
            super::docker::first_answer(timeout),
        )
        .map_err(|reason| engine_err("connect", reason))?;
        // Before anything is made: a definition whose image is not here cannot be profiled.
        match client.image_config(&spec.image) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(ProfileError::Usage(format!(
                    "{location}: image '{}' is not on the local engine (dropcap profile never pulls; pull or build it first)",
                    spec.image
                )))
            }
            Err(e) => return Err(engine_err("image inspect", e)),
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 1_000_000)
            .unwrap_or(0);
        let mut s = Scratch {
            client,
            session: format!("dropcap-profile-{}-{stamp}-def", std::process::id()),
            dir: None,
            binds: Vec::new(),
            volumes: Vec::new(),
            fixed_volumes: Vec::new(),
            network: None,
            dependencies: Vec::new(),
            shared: Default::default(),
            notes: Vec::new(),
        };
        if !dependencies.is_empty() {
            let net = format!("{}-net", s.session);
            s.client
                .network_create(&net, (LABEL, &s.session))
                .map_err(|e| engine_err("network create", e))?;
            s.network = Some(net.clone());
            spec.network = net;
            for d in dependencies {
                s.start_dependency(d, timeout)?;
            }
        }
        // After the dependencies: a volume the service shares with one is that one's volume.
        s.rewrite(spec, "trial", false)?;
        s.refresh()?;
        Ok(s)
    }

    fn scratch_dir(&mut self) -> Result<PathBuf, ProfileError> {
        if let Some(d) = &self.dir {
            return Ok(d.clone());
        }
        let d = std::env::temp_dir().join(&self.session);
        std::fs::create_dir(&d)
            .map_err(|e| ProfileError::io(format!("creating {}", d.display()), e))?;
        // Copies may hold the user's secrets: only root reads them beside the trial.
        let _ = std::fs::set_permissions(
            &d,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
        );
        self.dir = Some(d.clone());
        Ok(d)
    }

    /// Points every bind at a scratch copy and every named volume at a volume of this
    /// profile. `once`: made now and kept (dependencies); otherwise remade per trial.
    fn rewrite(
        &mut self,
        spec: &mut ContainerSpec,
        tag: &str,
        once: bool,
    ) -> Result<(), ProfileError> {
        for (i, m) in spec.mounts.iter_mut().enumerate() {
            match &mut m.kind {
                MountKind::Bind { source } => {
                    let copy = self.scratch_dir()?.join(format!("{tag}-{i}"));
                    let original = std::mem::replace(source, copy.clone());
                    if once {
                        copy_fresh(&original, &copy)?;
                    } else {
                        self.binds.push((original, copy));
                    }
                }
                // An anonymous volume is already fresh per container.
                MountKind::Volume { name } if !name.is_empty() => {
                    if let Some(made) = self.shared.get(name.as_str()) {
                        if !once {
                            self.notes.push(format!(
                                "volume '{name}' is shared with a depends_on service: every trial mounts the one volume made for it (not emptied between trials)"
                            ));
                        }
                        *name = made.clone();
                        continue;
                    }
                    let fresh = format!("{}-{tag}-vol{i}", self.session);
                    let written = std::mem::replace(name, fresh.clone());
                    if once {
                        self.shared.insert(written, fresh.clone());
                        self.client
                            .volume_create(&fresh, (LABEL, &self.session))
                            .map_err(|e| engine_err("volume create", e))?;
                        self.fixed_volumes.push(fresh);
                    } else {
                        self.volumes.push(fresh);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Fresh copies and empty volumes for the next trial.
    pub fn refresh(&self) -> Result<(), ProfileError> {
        for (original, copy) in &self.binds {
            interrupt::check()?;
            copy_fresh(original, copy)?;
        }
        for v in &self.volumes {
            self.remove_volume_when_free(v)?;
            self.client
                .volume_create(v, (LABEL, &self.session))
                .map_err(|e| engine_err("volume create", e))?;
        }
        Ok(())
    }

    /// The previous trial's container is removed in the background (see
    /// `super::docker`), and a volume in use cannot be removed: wait for it, briefly.
    fn remove_volume_when_free(&self, v: &str) -> Result<(), ProfileError> {
        let until = Instant::now() + VOLUME_FREE;
        loop {
            match self.client.volume_remove(v) {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= until => return Err(engine_err("volume remove", e)),
                Err(_) => {
                    interrupt::check()?;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    fn start_dependency(&mut self, d: &Dependency, timeout: Duration) -> Result<(), ProfileError> {
        let mut spec = d.spec.clone();
        spec.network = self.network.clone().unwrap_or_default();
        let tag = format!("dep-{}", safe(&d.name));
        self.rewrite(&mut spec, &tag, true)?;
        let image = match self.client.image_config(&spec.image) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(ProfileError::Usage(format!(
                    "{}: dependency '{}' uses image '{}', which is not on the local engine (dropcap never pulls)",
                    d.location, d.name, spec.image
                )))
            }
            Err(e) => return Err(engine_err("image inspect", e)),
        };
        let argv = create::argv(&spec, &image);
        let caps = if d.privileged {
            TrialCaps::Default
        } else {
            TrialCaps::Exactly(configured(&d.cap_add, &d.cap_drop))
        };
        let body = create::body(&spec, &argv, caps, false, &self.session);
        let name = format!("{}-{tag}", self.session);
        let id = self
            .client
            .create(&name, &body)
            .map_err(|e| engine_err(&format!("create dependency {}", d.name), e))?;
        self.dependencies.push(id.clone());
        self.client
            .start(&id)
            .map_err(|e| engine_err(&format!("start dependency {}", d.name), e))?;
        self.wait_dependency(d, &id, timeout.min(DEPENDENCY_START))
    }

    /// Running, and healthy by its own probe when it has one (exec and shell inside it,
    /// HTTP, TCP and gRPC from a thread in its network namespace).
    fn wait_dependency(
        &self,
        d: &Dependency,
        id: &str,
        limit: Duration,
    ) -> Result<(), ProfileError> {
        let until = Instant::now() + limit;
        loop {
            interrupt::check()?;
            let (_, st) = self
                .client
                .state(id)
                .map_err(|e| engine_err("inspect dependency", e))?;
            if !st.running && st.status != "created" {
                return Err(ProfileError::Usage(format!(
                    "{}: dependency '{}' exited {} before the trials could start",
                    d.location, d.name, st.exit_code
                )));
            }
            if st.running && self.healthy(d, id, st.pid)? {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(ProfileError::Usage(format!(
                    "{}: dependency '{}' did not become healthy within {}s",
                    d.location,
                    d.name,
                    limit.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn healthy(&self, d: &Dependency, id: &str, pid: u32) -> Result<bool, ProfileError> {
        let Some(p) = &d.probe else {
            return Ok(true);
        };
        let limit = p
            .timeout
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        let argv = match &p.action {
            ProbeAction::Exec(a) => a.clone(),
            ProbeAction::Shell(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
            network => {
                let action = network.clone();
                return Ok(in_netns(pid, move || network_ok(&action, limit)).unwrap_or(false));
            }
        };
        exec_ok(&self.client, id, &argv, limit)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for id in &self.dependencies {
            if let Err(e) = self.client.remove(id) {
                crate::say!("dropcap: profile: dependency container {id} may be left: {e}");
            }
        }
        for v in self.volumes.iter().chain(&self.fixed_volumes) {
            if let Err(e) = self.client.volume_remove(v) {
                crate::say!("dropcap: profile: volume {v} may be left: {e}");
            }
        }
        if let Some(n) = &self.network {
            if let Err(e) = self.client.network_remove(n) {
                crate::say!("dropcap: profile: network {n} may be left: {e}");
            }
        }
        if let Some(d) = &self.dir {
            if let Err(e) = std::fs::remove_dir_all(d) {
                crate::say!(
                    "dropcap: profile: scratch directory {} may be left: {e}",
                    d.display()
                );
            }
        }
    }
}

/// Docker's default set with the definition's own `cap_add`/`cap_drop` applied (`ALL`
/// drops or adds everything); names that are not capabilities are ignored, as the engine
/// would refuse them anyway.
fn configured(add: &[String], drop: &[String]) -> CapSet {
    let mut set = CapSet::docker_default();
    for d in drop {
        if d.trim().eq_ignore_ascii_case("all") {
            set = CapSet::EMPTY;
        } else if let Ok(c) = parse_cap(d.trim()) {
            set.remove(c);
        }
    }
    for a in add {
        if a.trim().eq_ignore_ascii_case("all") {
            set = CapSet::all_known();
        } else if let Ok(c) = parse_cap(a.trim()) {
            set.insert(c);
        }
    }
    set
}

fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `copy` becomes an exact copy of `original` (`cp -a --preserve=all`), whatever a previous
/// trial left there. A path that does not exist is an empty directory, as the engine would
/// create it.
fn copy_fresh(original: &Path, copy: &Path) -> Result<(), ProfileError> {
    if std::fs::symlink_metadata(copy).is_ok() {
        // The previous trial's container may still be going away with the old copy mounted:
        // moved aside at once (a rename does not care), deleted when nothing uses it.
        let old = copy.with_extension(format!(
            "old{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::rename(copy, &old)
            .map_err(|e| ProfileError::io(format!("clearing {}", copy.display()), e))?;
        // If still busy, it goes with the scratch directory at the end.
        let _ = match std::fs::symlink_metadata(&old) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&old),
            _ => std::fs::remove_file(&old),
        };
    }
    if std::fs::symlink_metadata(original).is_err() {
        return std::fs::create_dir(copy)
            .map_err(|e| ProfileError::io(format!("creating {}", copy.display()), e));
    }
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg("--preserve=all")
        .arg("--")
        .arg(original)
        .arg(copy)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ProfileError::io("running cp", e))?;
    if !out.status.success() {
        return Err(ProfileError::Usage(format!(
            "copying {} for a trial failed: {}",
            original.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// A runner whose every trial starts from fresh copies and volumes ([`Scratch::refresh`]).
pub struct ScratchRunner {
    /// Dropped first: the last trial container goes before the volumes it mounted.
    pub inner: Box<dyn Runner>,
    pub scratch: Scratch,
    /// The first trial uses what [`Scratch::prepare`] made.
    fresh: bool,
}

impl ScratchRunner {
    pub fn new(inner: Box<dyn Runner>, scratch: Scratch) -> ScratchRunner {
        ScratchRunner {
            inner,
            scratch,
            fresh: true,
        }
    }
}

impl Runner for ScratchRunner {
    fn target(&self) -> Target {
        self.inner.target()
    }
    fn check(&self) -> &Check {
        self.inner.check()
    }
    fn default_set(&self) -> CapSet {
        self.inner.default_set()
    }
    fn default_name(&self) -> String {
        self.inner.default_name()
    }
    fn trial(
        &mut self,
        caps: TrialCaps,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<TrialResult, ProfileError> {
        if !std::mem::take(&mut self.fresh) {
            self.scratch.refresh()?;
        }
        self.inner.trial(caps, tracer)
    }
    fn sysctls(&self) -> Vec<(String, String)> {
        self.inner.sysctls()
    }
    fn low_ports(&self) -> Vec<u16> {
        self.inner.low_ports()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_sets_follow_docker() {
        let s = configured(&["NET_ADMIN".into()], &["NET_RAW".into(), "bogus".into()]);
        assert!(s.contains(parse_cap("NET_ADMIN").unwrap()));
        assert!(!s.contains(parse_cap("NET_RAW").unwrap()));
        assert_eq!(s.len(), CapSet::docker_default().len());
        let s = configured(&["CHOWN".into()], &["ALL".into()]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn copies_are_exact_and_remade() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("a"), b"hello").unwrap();
        std::fs::set_permissions(src.join("a"), std::fs::Permissions::from_mode(0o640)).unwrap();
        symlink("a", src.join("link")).unwrap();
        let copy = dir.path().join("copy");
        copy_fresh(&src, &copy).unwrap();
        std::fs::write(copy.join("left-by-trial"), b"x").unwrap();
        std::fs::write(copy.join("a"), b"changed").unwrap();
        copy_fresh(&src, &copy).unwrap();
        assert!(!copy.join("left-by-trial").exists());
        assert_eq!(std::fs::read(copy.join("a")).unwrap(), b"hello");
        let mode = std::fs::metadata(copy.join("a"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(
            std::fs::read_link(copy.join("link")).unwrap(),
            Path::new("a")
        );
        // A missing source is an empty directory, as the engine makes it.
        let none = dir.path().join("none-copy");
        copy_fresh(&dir.path().join("missing"), &none).unwrap();
        assert!(none.is_dir());
    }
}
