//! `profile --try-fixes`: proves a permission fix by running the same check with the smaller
//! set twice, on the image as it is and on a derived image that has the fix, then removes the
//! derived image. A fix is only called proven when the first run fails and the second passes;
//! the user's images are never changed.

use super::permfix::PermissionFixes;
use super::report::Report;
use super::runner::{Runner, TrialCaps};
use super::{interrupt, ProfileError};
use crate::caps::{spell, CapSet};
use crate::engine::derive::{dockerfile, Deriver};
use crate::output::Style;
use serde::Serialize;
use std::collections::HashMap;

/// One run of the check with the smaller set.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub image: String,
    pub passed: bool,
    pub reason: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    /// The set both runs had: the proven set minus what the fix replaces.
    pub caps: CapSet,
    /// The Dockerfile the derived image was built from.
    pub dockerfile: String,
    pub without_fix: Run,
    pub with_fix: Run,
    /// True when the fix is proven: the image as it is fails, the derived image passes.
    pub proven: bool,
    /// Whether the derived image was removed again (it always should be).
    pub removed: bool,
}

/// The report with the permission fixes, as `--format json` and the profile file carry it.
#[derive(Serialize)]
pub struct WithFixes<'a> {
    #[serde(flatten)]
    pub report: &'a Report,
    /// `null` when no file-permission capability is kept.
    pub permission_fixes: Option<&'a Fixes>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fixes {
    #[serde(flatten)]
    pub proposed: PermissionFixes,
    /// `--try-fixes` (images only): both runs; `null` when not tried.
    pub tried: Option<Tried>,
}

/// Removes the derived image when dropped: on success, on error and on Ctrl-C alike.
struct Derived<'a> {
    deriver: &'a Deriver,
    tag: String,
    removed: bool,
}

impl Drop for Derived<'_> {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.deriver.remove(&self.tag);
        }
    }
}

fn run_of(image: &str, r: &super::runner::TrialResult) -> Run {
    Run {
        image: image.to_string(),
        passed: r.passed,
        reason: r.reason.clone(),
        duration_ms: r.duration.as_millis() as u64,
    }
}

/// Makes a runner for the derived image, with the same spec as the profile's own.
pub type RunnerFor<'a> = dyn Fn(&str) -> Result<Box<dyn Runner>, ProfileError> + 'a;

/// Builds the derived image, runs `original` and a runner on the derived image (made by
/// `runner_for`) with the smaller set, and removes the image.
pub fn try_fixes(
    fixes: &PermissionFixes,
    image: &str,
    session: &str,
    original: &mut dyn Runner,
    runner_for: &RunnerFor<'_>,
    timeout: std::time::Duration,
) -> Result<Tried, ProfileError> {
    let Some(run) = &fixes.dockerfile else {
        return Err(ProfileError::Usage("no permission fix to try".into()));
    };
    let engine = |e: String| ProfileError::Docker {
        args: "build (--try-fixes)".into(),
        reason: e,
    };
    let deriver = Deriver::new(None, timeout).map_err(engine)?;
    let user = deriver.image_user(image).map_err(engine)?;
    let text = dockerfile(image, run, user.as_deref());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut derived = Derived {
        deriver: &deriver,
        tag: format!("dropcap-tryfix-{}-{nanos}:latest", std::process::id()),
        removed: false,
    };
    let labels = HashMap::from([("io.dropcap.profile".to_string(), session.to_string())]);
    deriver
        .build(&derived.tag, &text, &labels)
        .map_err(engine)?;
    interrupt::check()?;
    let caps = TrialCaps::Exactly(fixes.smaller_set);
    let before = original.trial(caps, None)?;
    let mut on_derived = runner_for(&derived.tag)?;
    let after = on_derived.trial(caps, None)?;
    drop(on_derived);
    derived.removed = deriver.remove(&derived.tag).is_ok();
    Ok(Tried {
        caps: fixes.smaller_set,
        dockerfile: text,
        proven: !before.passed && after.passed,
        without_fix: run_of(image, &before),
        with_fix: run_of(&derived.tag, &after),
        removed: derived.removed,
    })
}

fn secs(ms: u64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

/// The "permission fixes" section of the text report.
pub fn render(f: &Fixes, image: bool, style: Style) -> String {
    let p = &f.proposed;
    let mut s = format!(
        "{}\n",
        style.bold("5. permission fixes instead of capabilities")
    );
    for file in &p.files {
        s.push_str(&format!(
            "  {:<16} {} ({} {}; {} {}): {}\n",
            file.cap.name(),
            file.path,
            file.owner,
            file.mode,
            file.process,
            file.syscall.as_deref().unwrap_or("-"),
            file.change.join(" && ")
        ));
    }
    for n in &p.without_fix {
        s.push_str(&format!("  no fix {:<9} {}\n", n.cap.name(), n.reason));
    }
    if p.replaces.is_empty() {
        s.push_str("  none: every kept capability is needed as it is\n");
        return s;
    }
    if image {
        if let Some(d) = &p.dockerfile {
            s.push_str(&format!("  {}  {d}\n", style.bold("Dockerfile:")));
        }
    } else {
        for c in &p.commands {
            s.push_str(&format!("  {}  {c}\n", style.bold("on the host:")));
        }
    }
    if let Some(u) = &p.run_as {
        s.push_str(&format!(
            "  or run as {u}, the owner of every file: it then needs no capability\n"
        ));
    }
    s.push_str(&format!(
        "  {}  {}   (replaces {}{})\n",
        style.bold("then:"),
        spell::docker_flags(p.smaller_set),
        spell::list(p.replaces, spell::Spelling::Canonical),
        match (image, &f.tried) {
            (true, None) => "; proposed, not proven: --try-fixes proves it",
            (true, Some(_)) => "",
            (false, _) => "; proposed, not proven",
        }
    ));
    if let Some(t) = &f.tried {
        s.push_str(&format!(
            "  tried with {} (the derived image {} {}):\n",
            spell::compact(t.caps),
            t.with_fix.image,
            if t.removed {
                "was removed"
            } else {
                "could NOT be removed"
            }
        ));
        for (label, r) in [
            ("image as it is", &t.without_fix),
            ("with the fix", &t.with_fix),
        ] {
            let verdict = if r.passed {
                style.paint("32", "passed")
            } else {
                style.paint("31", "failed")
            };
            s.push_str(&format!(
                "    {label:<15} {verdict}  {:>6}  {}\n",
                secs(r.duration_ms),
                r.reason
            ));
        }
        let line = if t.proven {
            format!(
                "  {} {}   (the fix replaces {})\n",
                style.bold("proven with the fix:"),
                style.bold(&spell::compact(t.caps)),
                spell::list(p.replaces, spell::Spelling::Canonical)
            )
        } else if t.with_fix.passed {
            "  not proven: the smaller set also passes without the fix (a flaky check?)\n"
                .to_string()
        } else {
            "  not proven: the smaller set still fails with the fix; keep the proven set\n"
                .to_string()
        };
        s.push_str(&line);
    }
    s
}
