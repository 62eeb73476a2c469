//! The four steps of a profile: trace, verify, minimise, report. Every trial is recorded, and
//! the proven set is always one that passed a real trial.

use super::report::{self, Kept, Removed, Report, Step, TrialRecord};
use super::runner::{Runner, TrialCaps, TrialResult};
use super::search;
use super::trace::{caps_of, evidence, Seen, Tracer};
use super::ProfileError;
use crate::caps::{Cap, CapSet};
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Options {
    /// How often a failed verification may be traced and widened by what was denied.
    pub max_verify_rounds: usize,
    /// The image's files: a file capability with the effective bit makes the exec itself
    /// fail without it, which no tracer sees, so its capabilities become candidates when the
    /// traced ones do not pass (and name the file when one is kept).
    pub image_files: Option<std::sync::Arc<crate::image::ImageFiles>>,
    /// The same, being read on another thread (exporting an image takes seconds): waited
    /// for only when needed, usually after the last trial.
    pub image_files_later: Option<ImageFilesLater>,
}

/// Filled once by the thread that reads the image; `Err` says why it could not be read.
pub type ImageFilesLater =
    std::sync::Arc<std::sync::OnceLock<Result<std::sync::Arc<crate::image::ImageFiles>, String>>>;

impl Default for Options {
    fn default() -> Options {
        Options {
            max_verify_rounds: 3,
            image_files: None,
            image_files_later: None,
        }
    }
}

impl Options {
    /// The image's files, waiting (and noticing Ctrl-C) while they are still being read.
    fn files(&self) -> Result<Option<std::sync::Arc<crate::image::ImageFiles>>, ProfileError> {
        if let Some(f) = &self.image_files {
            return Ok(Some(f.clone()));
        }
        let Some(later) = &self.image_files_later else {
            return Ok(None);
        };
        loop {
            if let Some(r) = later.get() {
                return Ok(r.as_ref().ok().cloned());
            }
            super::interrupt::check()?;
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Capabilities of `default` that a file capability of the image needs at exec, and the
/// files that need each, as `path cap_text`.
fn file_cap_needs(
    files: Option<&crate::image::ImageFiles>,
    default: CapSet,
) -> (CapSet, Vec<(String, String, CapSet)>) {
    let mut set = CapSet::EMPTY;
    let mut who = Vec::new();
    for f in files.map(|f| f.files.as_slice()).unwrap_or_default() {
        let Some(c) = f
            .capability
            .filter(|c| c.effective && c.applies_without_userns())
        else {
            continue;
        };
        let need = c.permitted.intersect(default);
        if !need.is_empty() {
            set = set.union(need);
            who.push((f.path.clone(), c.text(), need));
        }
    }
    (set, who)
}

struct Ctx<'a> {
    runner: &'a mut dyn Runner,
    tracer: Option<&'a mut dyn Tracer>,
    trials: Vec<TrialRecord>,
    progress: &'a mut dyn FnMut(&TrialRecord),
    granted: BTreeMap<Cap, Vec<Seen>>,
    denied: BTreeMap<Cap, Vec<Seen>>,
    lost: u64,
    late: bool,
    audited: CapSet,
    noaudit: CapSet,
}

impl Ctx<'_> {
    fn trial(
        &mut self,
        caps: TrialCaps,
        step: Step,
        traced: bool,
    ) -> Result<(usize, TrialResult), ProfileError> {
        let tracer = match &mut self.tracer {
            Some(t) if traced => Some(&mut **t as &mut dyn Tracer),
            _ => None,
        };
        let r = self.runner.trial(caps, tracer)?;
        let number = self.trials.len() + 1;
        if let Some(t) = &r.traced {
            self.lost += t.lost;
            self.late |= t.attached_late;
            for o in &t.observations {
                if o.audit {
                    self.audited.insert(o.cap);
                } else {
                    self.noaudit.insert(o.cap);
                }
            }
            merge(&mut self.granted, evidence(&t.observations, true));
            merge(&mut self.denied, evidence(&t.observations, false));
        }
        let rec = TrialRecord {
            number,
            step,
            engine_default: caps == TrialCaps::Default,
            caps: match caps {
                TrialCaps::Default => self.runner.default_set(),
                TrialCaps::Exactly(s) => s,
            },
            passed: r.passed,
            reason: r.reason.clone(),
            duration_ms: r.duration.as_millis() as u64,
            traced: r.traced.is_some(),
            denied: r
                .traced
                .as_ref()
                .map(|t| caps_of(&evidence(&t.observations, false)))
                .unwrap_or_default(),
        };
        (self.progress)(&rec);
        self.trials.push(rec);
        Ok((number, r))
    }
}

/// Adds counts of one trial's evidence to the profile's.
fn merge(into: &mut BTreeMap<Cap, Vec<Seen>>, from: BTreeMap<Cap, Vec<Seen>>) {
    for (cap, seen) in from {
        let all = into.entry(cap).or_default();
        for s in seen {
            match all.iter_mut().find(|x| x.same_check(&s)) {
                Some(x) => x.count += s.count,
                None => all.push(s),
            }
        }
    }
}

/// Profiles the workload behind `runner`. Without a tracer the candidates are the runner's
/// whole default set (slower, but every step is still a real run and the result is proven).
pub fn profile<'a>(
    runner: &'a mut (dyn Runner + 'a),
    tracer: Option<&'a mut (dyn Tracer + 'a)>,
    options: &Options,
    progress: &'a mut (dyn FnMut(&TrialRecord) + 'a),
) -> Result<Report, ProfileError> {
    let started = Instant::now();
    let default = runner.default_set();
    let tracer_name = tracer.as_ref().map(|t| t.name().to_string());
    let mut ctx = Ctx {
        runner,
        tracer,
        trials: Vec::new(),
        progress,
        granted: BTreeMap::new(),
        denied: BTreeMap::new(),
        lost: 0,
        late: false,
        audited: CapSet::EMPTY,
        noaudit: CapSet::EMPTY,
    };
    let mut notes = Vec::new();

    // 1. Trace a run with the default set.
    let (first_n, first) = ctx.trial(TrialCaps::Default, Step::Trace, true)?;
    let mut candidates = match &first.traced {
        Some(t) => {
            let mut c = caps_of(&evidence(&t.observations, true));
            if !first.passed {
                let denied = caps_of(&evidence(&t.observations, false));
                if denied.is_empty() {
                    return Err(ProfileError::NotProven(format!(
                        "the check fails even with {} ({}), and the tracer saw no \
                         denied capability check: the failure is not about capabilities",
                        set_phrase(&ctx.runner.default_name()),
                        first.reason
                    )));
                }
                notes.push(format!(
                    "the check failed with {}; added what was denied: {denied}",
                    set_phrase(&ctx.runner.default_name())
                ));
                c = c.union(denied);
            }
            c
        }
        None => {
            if !first.passed {
                return Err(ProfileError::NotProven(format!(
                    "the check fails even with {}: {}",
                    set_phrase(&ctx.runner.default_name()),
                    first.reason
                )));
            }
            notes.push(format!(
                "no capability tracer: the candidates are all of {}, and minimising \
                 takes more trials",
                set_phrase(&ctx.runner.default_name())
            ));
            default
        }
    };
    let traced = first.traced.is_some();
    let observed = if traced { candidates } else { CapSet::EMPTY };
    // What the tracer saw in use or denied: the search removes these one at a time.
    let mut evidenced = observed;
    // Candidates from the image's file capabilities: added at once when the first run
    // failed, else only when the traced candidates fail (most runs never wait for the image).
    let mut files_added = false;
    let mut add_file_caps = |candidates: &mut CapSet,
                             notes: &mut Vec<String>|
     -> Result<bool, ProfileError> {
        if files_added || !traced {
            return Ok(false);
        }
        files_added = true;
        let files = options.files()?;
        let (from_files, file_needs) = file_cap_needs(files.as_deref(), default);
        if from_files.is_subset(*candidates) {
            return Ok(false);
        }
        let list: Vec<String> = file_needs
            .iter()
            .map(|(path, text, _)| format!("{path} {text}"))
            .collect();
        notes.push(format!(
            "candidates from the image's file capabilities: {} ({}): without it the exec fails before any capability check a tracer could see",
            from_files.difference(*candidates),
            list.join(", ")
        ));
        *candidates = candidates.union(from_files);
        Ok(true)
    };
    if !first.passed {
        add_file_caps(&mut candidates, &mut notes)?;
    }

    // 2. Verify the candidates; trace failures and add what was denied (bounded).
    let mut verified = None;
    let mut widened_to_default = false;
    if first.passed && candidates == default {
        // Trial 1 already ran with exactly this set; `--cap-drop ALL --cap-add <default>` is
        // the same run again.
        verified = Some(first_n);
    }
    for _ in 0..=options.max_verify_rounds {
        if verified.is_some() {
            break;
        }
        // Untraced first (attaching costs about a second); only a failure is run again traced.
        let (n, r) = ctx.trial(TrialCaps::Exactly(candidates), Step::Verify, false)?;
        if r.passed {
            verified = Some(n);
            break;
        }
        if !traced {
            break;
        }
        if add_file_caps(&mut candidates, &mut notes)? {
            continue;
        }
        let (n, r) = ctx.trial(TrialCaps::Exactly(candidates), Step::Verify, true)?;
        if r.passed {
            notes.push(format!(
                "the same candidate set failed once and passed in trial #{n}: the workload \
                 may be flaky"
            ));
            verified = Some(n);
            break;
        }
        let denied = r
            .traced
            .as_ref()
            .map(|t| caps_of(&evidence(&t.observations, false)))
            .unwrap_or_default()
            .difference(candidates);
        if !denied.is_empty() {
            notes.push(format!(
                "verification trial #{n} failed; the tracer saw {denied} denied, so it was added"
            ));
            candidates = candidates.union(denied);
            evidenced = evidenced.union(denied);
        } else if first.passed && !widened_to_default && !default.is_subset(candidates) {
            // The trace missed something the workload needs without a visible denial
            // (e.g. a check made before the tracer attached); the default set is known good.
            notes.push(format!(
                "verification trial #{n} failed without a traced denial; widened the \
                 candidates to include {}",
                set_phrase(&ctx.runner.default_name())
            ));
            candidates = candidates.union(default);
            widened_to_default = true;
        } else {
            break;
        }
    }
    let Some(verified) = verified else {
        let last = ctx
            .trials
            .last()
            .map(|t| t.reason.clone())
            .unwrap_or_default();
        let mut msg =
            format!("no candidate set passed the check (last: {last}); nothing is proven");
        let denied: CapSet = ctx.denied.keys().copied().collect();
        if let Some(user) = ctx.runner.non_root_user().filter(|_| !denied.is_empty()) {
            let advice = report::non_root_advice(&user, denied, false);
            msg.push_str(". T");
            msg.push_str(advice.strip_prefix('t').unwrap_or(&advice));
        }
        return Err(ProfileError::NotProven(msg));
    };

    // 3. Minimise by trial.
    let known: Vec<(CapSet, search::Verdict)> = ctx
        .trials
        .iter()
        .filter(|t| !t.engine_default)
        .map(|t| (t.caps, (t.passed, t.number)))
        .collect();
    let m = search::minimise(candidates, verified, evidenced, &known, &mut |set| {
        ctx.trial(TrialCaps::Exactly(set), Step::Minimise, false)
            .map(|(n, r)| (r.passed, n))
    })?;

    // 4. The proven set: confirmed by a real run, or else the verified candidates.
    let (proven, proven_by, failed_without) = match m.passed_in {
        Some(n) => (m.kept, n, m.failed_without),
        None => {
            let (n, r) = ctx.trial(TrialCaps::Exactly(m.kept), Step::Confirm, false)?;
            if r.passed {
                (m.kept, n, m.failed_without)
            } else {
                notes.push(format!(
                    "the minimised set {} failed its confirmation run (#{n}: {}); the workload \
                     is flaky or needs capabilities together, so the verified candidate set is \
                     reported instead",
                    m.kept, r.reason
                ));
                (candidates, verified, BTreeMap::new())
            }
        }
    };

    let mut kept_for_files = CapSet::EMPTY;
    let files = if proven.is_empty() {
        None
    } else {
        options.files()?
    };
    let (_, file_needs) = file_cap_needs(files.as_deref(), default);
    for (path, text, need) in &file_needs {
        let kept = need.intersect(proven);
        if !kept.is_empty() {
            kept_for_files = kept_for_files.union(kept);
            notes.push(format!(
                "{kept} is kept because {path} carries the file capability {text}: without it the kernel refuses to exec the file (\"Operation not permitted\"). Alternative: {}",
                crate::image::analysis::remove_file_cap(path, kept)
            ));
        }
    }
    if ctx.late {
        notes.push(
            "the image has no /bin/sh to hold the workload until the tracer attached, so the \
             trace may miss its first checks; the verification runs make up for it"
                .to_string(),
        );
    }
    let sysctls: BTreeMap<String, String> = ctx.runner.sysctls().into_iter().collect();
    let listening = ctx.runner.low_ports();
    // A capability a file capability explains needs no guess about raw sockets.
    notes.extend(report::sysctl_notes(
        &sysctls,
        ctx.runner.check(),
        &listening,
        proven.difference(kept_for_files),
    ));
    if let Some(user) = ctx.runner.non_root_user().filter(|_| !proven.is_empty()) {
        notes.push(report::non_root_advice(&user, proven, true));
    }
    if ctx.lost > 0 {
        notes.push(format!(
            "the tracer lost {} events; verification runs cover for them",
            ctx.lost
        ));
    }
    let kept = proven
        .iter()
        .map(|cap| Kept {
            cap,
            failed_without_trial: failed_without.get(&cap).copied(),
            seen: ctx.granted.get(&cap).cloned().unwrap_or_default(),
            denied: ctx.denied.get(&cap).cloned().unwrap_or_default(),
        })
        .collect();
    let removed = default
        .union(candidates)
        .difference(proven)
        .iter()
        .map(|cap| Removed {
            cap,
            candidate: candidates.contains(cap),
            passed_without_trial: ctx
                .trials
                .iter()
                .find(|t| t.passed && !t.caps.contains(cap))
                .map_or(proven_by, |t| t.number),
            seen: ctx.granted.get(&cap).cloned().unwrap_or_default(),
        })
        .collect();
    let trial_count = ctx.trials.len();
    Ok(Report {
        schema: report::SCHEMA,
        target: ctx.runner.target(),
        definition: None,
        check: ctx.runner.check().clone(),
        tracer: tracer_name,
        default_name: ctx.runner.default_name(),
        default_set: default,
        observed,
        candidates,
        noaudit_only: ctx.noaudit.difference(ctx.audited),
        proven,
        proven_mask: proven.to_hex(),
        proven_by_trial: proven_by,
        evidence: kept,
        removed,
        one_by_one_trials: 1 + search::one_by_one_trials(default.len()),
        trials: std::mem::take(&mut ctx.trials),
        trial_count,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        sysctls,
        notes,
        recommendation: report::Recommendation::for_set(proven),
    })
}

/// The default set's name inside a sentence: "the Docker default set", but "dropcap's
/// permitted set" as is (not "the dropcap's permitted set set").
fn set_phrase(name: &str) -> String {
    if name.ends_with(" set") {
        name.to_string()
    } else {
        format!("the {name} set")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_set_reads_in_a_sentence() {
        assert_eq!(
            super::set_phrase("Docker default"),
            "the Docker default set"
        );
        assert_eq!(
            super::set_phrase("dropcap's permitted set"),
            "dropcap's permitted set"
        );
    }

    use super::*;
    use crate::profile::check::Check;
    use crate::profile::runner::Target;
    use crate::profile::trace::{Observation, TraceSession, TraceTarget, Traced};
    use std::time::Duration;

    /// A workload that passes exactly when it holds `needs`; when traced, it reports audited
    /// checks for what it uses (`uses`, granted or denied by the trial's set) plus a noaudit
    /// SYS_ADMIN probe, unless `blind` (a tracer that sees nothing).
    struct Fake {
        needs: CapSet,
        uses: CapSet,
        blind: bool,
        /// Fail the n-th trial regardless (a flaky run), 1-based.
        flaky: Option<usize>,
        /// Uses nothing when run with the whole default set (like a script that checks
        /// its own capabilities first), so only later, narrower trials reveal its needs.
        quiet_with_default: bool,
        n: usize,
    }

    struct NoTracer;
    impl Tracer for NoTracer {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn start(&mut self, _: &TraceTarget) -> Result<Box<dyn TraceSession>, ProfileError> {
            Err(ProfileError::Trace("unused".into()))
        }
    }

    impl Runner for Fake {
        fn target(&self) -> Target {
            Target::Command {
                argv: vec!["fake".into()],
                user: None,
            }
        }
        fn check(&self) -> &Check {
            &Check::ExitZero
        }
        fn default_set(&self) -> CapSet {
            CapSet::docker_default()
        }
        fn default_name(&self) -> String {
            "Docker default".into()
        }
        fn trial(
            &mut self,
            caps: TrialCaps,
            tracer: Option<&mut dyn Tracer>,
        ) -> Result<TrialResult, ProfileError> {
            self.n += 1;
            let set = match caps {
                TrialCaps::Default => self.default_set(),
                TrialCaps::Exactly(s) => s,
            };
            let passed = self.needs.is_subset(set) && self.flaky != Some(self.n);
            let traced = tracer.map(|_| {
                let mut observations: Vec<Observation> = Vec::new();
                let quiet = self.quiet_with_default && matches!(caps, TrialCaps::Default);
                if !self.blind && !quiet {
                    for cap in self.uses.iter() {
                        observations.push(Observation {
                            pid: 2,
                            comm: "fake".into(),
                            cap,
                            granted: set.contains(cap),
                            audit: true,
                            syscall: Some("socket".into()),
                            object: crate::trace::CheckObject::Syscall {
                                name: "socket".into(),
                            },
                        });
                    }
                    observations.push(Observation {
                        pid: 2,
                        comm: "fake".into(),
                        cap: Cap::SYS_ADMIN,
                        granted: true,
                        audit: false,
                        syscall: Some("mmap".into()),
                        object: crate::trace::CheckObject::Syscall {
                            name: "mmap".into(),
                        },
                    });
                }
                Traced {
                    observations,
                    lost: 0,
                    attached_late: false,
                }
            });
            Ok(TrialResult {
                passed,
                reason: if passed { "exited 0" } else { "exited 1" }.into(),
                duration: Duration::from_millis(1),
                traced,
            })
        }
    }

    fn fake(needs: &[Cap], uses: &[Cap]) -> Fake {
        Fake {
            needs: needs.iter().copied().collect(),
            uses: uses.iter().copied().collect(),
            blind: false,
            flaky: None,
            quiet_with_default: false,
            n: 0,
        }
    }

    fn run(f: &mut Fake, traced: bool) -> Result<Report, ProfileError> {
        let mut t = NoTracer;
        let tracer: Option<&mut dyn Tracer> = if traced { Some(&mut t) } else { None };
        profile(f, tracer, &Options::default(), &mut |_| {})
    }

    fn assert_proof(r: &Report) {
        let t = &r.trials[r.proven_by_trial - 1];
        assert!(t.passed && t.caps == r.proven);
        for k in &r.evidence {
            if let Some(n) = k.failed_without_trial {
                assert!(!r.trials[n - 1].passed && !r.trials[n - 1].caps.contains(k.cap));
            }
        }
        for k in &r.removed {
            let t = &r.trials[k.passed_without_trial - 1];
            assert!(t.passed && !t.caps.contains(k.cap));
        }
        assert!(!r.candidates.contains(Cap::SYS_ADMIN) || r.tracer.is_none());
    }

    #[test]
    fn traced_candidates_are_verified_and_minimised() {
        // Uses CHOWN and NET_RAW, needs only NET_RAW.
        let mut f = fake(&[Cap::NET_RAW], &[Cap::CHOWN, Cap::NET_RAW]);
        let r = run(&mut f, true).unwrap();
        assert_eq!(r.proven, CapSet::EMPTY.with(Cap::NET_RAW));
        assert_eq!(
            r.observed,
            CapSet::EMPTY.with(Cap::NET_RAW).with(Cap::CHOWN)
        );
        assert_eq!(r.noaudit_only, CapSet::EMPTY.with(Cap::SYS_ADMIN));
        assert!(r.trial_count <= 5, "{}", r.trial_count);
        assert_proof(&r);
    }

    #[test]
    fn k_traced_and_needed_capabilities_cost_k_plus_two_trials() {
        for k in 1..=5 {
            let caps: Vec<Cap> = [
                Cap::CHOWN,
                Cap::DAC_OVERRIDE,
                Cap::SETGID,
                Cap::SETUID,
                Cap::NET_BIND_SERVICE,
            ][..k]
                .to_vec();
            let mut f = fake(&caps, &caps);
            let r = run(&mut f, true).unwrap();
            assert_eq!(r.proven, caps.iter().copied().collect());
            assert_eq!(r.trial_count, k + 2, "k = {k}");
            assert_proof(&r);
        }
    }

    #[test]
    fn needs_beyond_the_default_are_added_from_denials() {
        let mut f = fake(&[Cap::NET_ADMIN], &[Cap::NET_ADMIN]);
        let r = run(&mut f, true).unwrap();
        assert_eq!(r.proven, CapSet::EMPTY.with(Cap::NET_ADMIN));
        assert!(!r.trials[0].passed);
        assert_proof(&r);
    }

    #[test]
    fn a_capability_found_by_denial_is_shown_where_it_was_denied() {
        let text =
            |r: &Report| crate::profile::report::render(r, crate::output::Style { color: false });
        // Denied in the first trace (outside the default set): shown in step 1.
        let r = run(&mut fake(&[Cap::NET_ADMIN], &[Cap::NET_ADMIN]), true).unwrap();
        let t = text(&r);
        let line = t
            .find("    NET_ADMIN          denied: fake socket")
            .unwrap();
        assert!(
            t.find("1. trace").unwrap() < line && line < t.find("2. verify").unwrap(),
            "{t}"
        );
        assert_eq!(t.matches("denied: fake socket").count(), 1, "{t}");
        // Invisible with the default set, denied in a verification: shown in step 2.
        let mut f = fake(&[Cap::NET_RAW], &[Cap::NET_RAW]);
        f.quiet_with_default = true;
        let r = run(&mut f, true).unwrap();
        assert_eq!(r.proven, CapSet::EMPTY.with(Cap::NET_RAW));
        let t = text(&r);
        assert!(t.contains("candidates (audited checks): -"), "{t}");
        let line = t
            .find("    NET_RAW            denied: fake socket")
            .unwrap();
        assert!(
            t.find("2. verify").unwrap() < line && line < t.find("3. minimise").unwrap(),
            "{t}"
        );
        assert_eq!(t.matches("denied: fake socket").count(), 1, "{t}");
    }

    #[test]
    fn a_blind_trace_widens_to_the_default_set() {
        let mut f = fake(&[Cap::NET_RAW], &[Cap::NET_RAW]);
        f.blind = true;
        let r = run(&mut f, true).unwrap();
        assert_eq!(r.proven, CapSet::EMPTY.with(Cap::NET_RAW));
        assert!(r.notes.iter().any(|n| n.contains("widened")));
        assert_proof(&r);
    }

    #[test]
    fn without_a_tracer_the_default_set_is_minimised() {
        let mut f = fake(&[Cap::SETUID, Cap::SETGID], &[]);
        let r = run(&mut f, false).unwrap();
        assert_eq!(r.proven, CapSet::EMPTY.with(Cap::SETUID).with(Cap::SETGID));
        assert!(r.tracer.is_none());
        assert!(r.trial_count < r.one_by_one_trials);
        assert_proof(&r);
    }

    #[test]
    fn a_workload_that_never_passes_is_never_proven() {
        let mut f = fake(&[Cap::new(16).unwrap()], &[]);
        assert!(matches!(
            run(&mut f, false),
            Err(ProfileError::NotProven(_))
        ));
        let mut f = fake(&[Cap::new(16).unwrap()], &[]);
        assert!(matches!(run(&mut f, true), Err(ProfileError::NotProven(_))));
    }

    #[test]
    fn a_flaky_verification_is_retried_traced() {
        let mut f = fake(&[Cap::NET_RAW], &[Cap::NET_RAW]);
        f.flaky = Some(2);
        let r = run(&mut f, true).unwrap();
        assert_eq!(r.proven, CapSet::EMPTY.with(Cap::NET_RAW));
        assert!(r.notes.iter().any(|n| n.contains("flaky")));
        assert_proof(&r);
    }
}
