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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_verify_rounds: 3,
        }
    }
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
            match all
                .iter_mut()
                .find(|x| x.process == s.process && x.syscall == s.syscall)
            {
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
                        "the check fails even with the {} set ({}), and the tracer saw no \
                         denied capability check: the failure is not about capabilities",
                        ctx.runner.default_name(),
                        first.reason
                    )));
                }
                notes.push(format!(
                    "the check failed with the {} set; added what was denied: {denied}",
                    ctx.runner.default_name()
                ));
                c = c.union(denied);
            }
            c
        }
        None => {
            if !first.passed {
                return Err(ProfileError::NotProven(format!(
                    "the check fails even with the {} set: {}",
                    ctx.runner.default_name(),
                    first.reason
                )));
            }
            notes.push(format!(
                "no capability tracer: the candidates are the whole {} set, and minimising \
                 takes more trials",
                ctx.runner.default_name()
            ));
            default
        }
    };
    let traced = first.traced.is_some();
    let observed = if traced { candidates } else { CapSet::EMPTY };

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
        } else if first.passed && !widened_to_default && !default.is_subset(candidates) {
            // The trace missed something the workload needs without a visible denial
            // (e.g. a check made before the tracer attached); the default set is known good.
            notes.push(format!(
                "verification trial #{n} failed without a traced denial; widened the \
                 candidates to include the {} set",
                ctx.runner.default_name()
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
        return Err(ProfileError::NotProven(format!(
            "no candidate set passed the check (last: {last}); nothing is proven"
        )));
    };

    // 3. Minimise by trial.
    let m = search::minimise(candidates, verified, &mut |set| {
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

    if ctx.late {
        notes.push(
            "the image has no /bin/sh to hold the workload until the tracer attached, so the \
             trace may miss its first checks; the verification runs make up for it"
                .to_string(),
        );
    }
    let sysctls: BTreeMap<String, String> = ctx.runner.sysctls().into_iter().collect();
    let listening = ctx.runner.low_ports();
    notes.extend(report::sysctl_notes(
        &sysctls,
        ctx.runner.check(),
        &listening,
        proven,
    ));
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
    Ok(Report::new(report::Parts {
        target: ctx.runner.target(),
        check: ctx.runner.check().clone(),
        tracer: tracer_name,
        default_name: ctx.runner.default_name(),
        default_set: default,
        observed,
        candidates,
        noaudit_only: ctx.noaudit.difference(ctx.audited),
        proven,
        proven_by_trial: proven_by,
        kept,
        removed,
        one_by_one_trials: 1 + search::one_by_one_trials(default.len()),
        trials: std::mem::take(&mut ctx.trials),
        trial_count,
        elapsed: started.elapsed(),
        sysctls,
        notes,
    }))
}
