//! `dropcap profile`'s permission fixes: where the files are read from (the image's export,
//! or the host for a local command), who the workload runs as, and `--try-fixes`.

use super::profile::ProfileArgs;
use super::CmdError;
use crate::caps::CapSet;
use crate::profile::docker::{DockerRunner, DockerSpec};
use crate::profile::permfix::{self, HostFiles, ImageStats};
use crate::profile::runner::Target;
use crate::profile::tryfix::{self, Fixes};
use crate::profile::{Check, Report, Runner};
use std::time::Duration;

/// The image the workload ran from: `--image`, or a compose service's or Kubernetes
/// container's image (whose files are the image's too, not the host's); `None` for a local
/// command.
pub fn image_of(target: &Target) -> Option<&str> {
    match target {
        Target::Image { image, .. } => Some(image),
        Target::Command { .. } => None,
    }
}

/// The uid and gid the workload's checks were made with: the user it ran as (`--user`, or a
/// definition's) as numbers, a local name through the host's accounts, root otherwise. `None`
/// for a name inside an image (its accounts are not resolved here).
fn identity(target: &Target) -> Option<(u64, u64)> {
    let user = match target {
        Target::Image { user, .. } | Target::Command { user, .. } => user,
    };
    let Some(user) = user else {
        return Some((0, 0));
    };
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user.as_str(), None),
    };
    let num = |s: &str| s.parse::<u64>().ok();
    match (num(u), g.map(num)) {
        (Some(uid), None) => Some((uid, uid)),
        (Some(uid), Some(Some(gid))) => Some((uid, gid)),
        _ if u == "root" => Some((0, 0)),
        _ if image_of(target).is_none() => crate::exec::resolve_user(user)
            .ok()
            .map(|i| (u64::from(i.uid), u64::from(i.gid))),
        _ => None,
    }
}

/// The proposed fixes (and, with `--try-fixes`, their proof); `None` when no capability the
/// table marks as file-permission-only is kept.
pub fn of(
    args: &ProfileArgs,
    rep: &Report,
    original: &mut dyn Runner,
    check: &Check,
    timeout: Duration,
    live: bool,
) -> Result<Option<Fixes>, CmdError> {
    if rep.proven.intersect(CapSet::file_permission()).is_empty() {
        return Ok(None);
    }
    let Some((uid, gid)) = identity(&rep.target) else {
        return Ok(None);
    };
    let keep = permfix::wanted_paths(&rep.evidence);
    let proposed = match image_of(&rep.target) {
        Some(image) => {
            let files = crate::engine::export::read_image_keeping_blocking(
                args.host.as_deref(),
                image,
                keep,
                timeout.max(Duration::from_secs(60)),
            )?;
            permfix::propose(
                rep.proven,
                &rep.evidence,
                &ImageStats::new(&files.files),
                uid,
                gid,
            )
        }
        None => {
            let mut p = permfix::propose(rep.proven, &rep.evidence, &HostFiles, uid, gid);
            // Host files are changed by hand, not by an image build.
            p.dockerfile = None;
            p
        }
    };
    let mut fixes = Fixes {
        proposed,
        tried: None,
    };
    let (Some(image), true) = (&args.image, args.try_fixes) else {
        return Ok(Some(fixes));
    };
    if fixes.proposed.dockerfile.is_none() {
        return Ok(Some(fixes));
    }
    let session = match rep.target {
        Target::Image { ref session, .. } => session.clone(),
        Target::Command { .. } => String::new(),
    };
    if live {
        crate::say!(
            "dropcap profile: --try-fixes: building a derived image with: {}",
            fixes.proposed.dockerfile.as_deref().unwrap_or("")
        );
    }
    let cmd = match &rep.target {
        Target::Image { cmd, .. } => cmd.clone(),
        Target::Command { .. } => None,
    };
    let runner_for = |tag: &str| -> Result<Box<dyn Runner>, crate::profile::ProfileError> {
        Ok(Box::new(DockerRunner::new(DockerSpec {
            container: crate::profile::spec::ContainerSpec {
                image: tag.to_string(),
                cmd: cmd.clone(),
                user: args.user.clone(),
                network: args.network.clone(),
                sysctls: super::profile::sysctl_pairs(args),
                ..Default::default()
            },
            check: check.clone(),
            timeout,
            host: args.host.clone(),
        })?))
    };
    fixes.tried = Some(tryfix::try_fixes(
        &fixes.proposed,
        image,
        &session,
        original,
        &runner_for,
        timeout,
    )?);
    Ok(Some(fixes))
}
