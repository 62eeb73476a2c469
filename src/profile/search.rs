//! Shrinking a passing set by trial, choosing the strategy from the evidence.
//!
//! Capabilities the tracer saw the workload use (audited checks) are usually all needed:
//! for them one removal each is cheapest, k trials for k needed ones, where binary splitting
//! pays about 2·log2(n) per needed capability (nginx's four took 9 trials). Candidates without
//! such evidence (the whole default set when there is no tracer, file capabilities of binaries
//! the workload may never run) are usually not needed: recursive binary splitting
//! (QuickXplain style) first asks "does it pass with none of these?", settling all of them in
//! one trial when none is needed. So with evidence, k needed capabilities cost k trials after
//! the verification (k + 2 with the traced first run); without, a workload that needs nothing
//! costs 1 trial, one that needs one of 14 about 8.
//!
//! The result is 1-minimal either way: for each kept capability there is a failed trial whose
//! set contained the proven set minus that capability, so (caps only ever add permissions) it
//! is needed.

use crate::caps::{Cap, CapSet};
use std::collections::{BTreeMap, HashMap};

/// The outcome of one trial as the search sees it: passed, and the trial's number.
pub type Verdict = (bool, usize);

pub struct Minimised {
    pub kept: CapSet,
    /// The trial that passed with exactly `kept`, if the search ran one.
    pub passed_in: Option<usize>,
    /// For each kept capability, the number of a failed trial run without it.
    pub failed_without: BTreeMap<Cap, usize>,
}

struct Search<'a, E> {
    test: &'a mut dyn FnMut(CapSet) -> Result<Verdict, E>,
    cache: HashMap<CapSet, Verdict>,
    failed_without: BTreeMap<Cap, usize>,
}

impl<E> Search<'_, E> {
    fn test(&mut self, set: CapSet) -> Result<Verdict, E> {
        if let Some(v) = self.cache.get(&set) {
            return Ok(*v);
        }
        let v = (self.test)(set)?;
        self.cache.insert(set, v);
        Ok(v)
    }

    /// Which of `cands` are needed, given that `base ∪ cands` passes.
    fn shrink(&mut self, base: CapSet, cands: &[Cap]) -> Result<CapSet, E> {
        if cands.is_empty() {
            return Ok(CapSet::EMPTY);
        }
        let (ok, trial) = self.test(base)?;
        if ok {
            return Ok(CapSet::EMPTY);
        }
        if let [only] = cands {
            self.failed_without.insert(*only, trial);
            return Ok(CapSet::EMPTY.with(*only));
        }
        let (a, b) = cands.split_at(cands.len() / 2);
        let b_set: CapSet = b.iter().copied().collect();
        let kept_a = self.shrink(base.union(b_set), a)?;
        let kept_b = self.shrink(base.union(kept_a), b)?;
        Ok(kept_a.union(kept_b))
    }
}

/// `start` must have passed a trial already (`start_trial`). `evidenced`: the candidates the
/// tracer saw in use, each tested by removing it alone. `known`: sets already run (a
/// verification that failed need not run again). `test` runs one real trial.
pub fn minimise<E>(
    start: CapSet,
    start_trial: usize,
    evidenced: CapSet,
    known: &[(CapSet, Verdict)],
    test: &mut dyn FnMut(CapSet) -> Result<Verdict, E>,
) -> Result<Minimised, E> {
    let mut cache: HashMap<CapSet, Verdict> = known.iter().copied().collect();
    cache.insert(start, (true, start_trial));
    let mut s = Search {
        test,
        cache,
        failed_without: BTreeMap::new(),
    };
    let evidenced = evidenced.intersect(start);
    // The rest first, by splitting: usually settled in one trial.
    let rest: Vec<Cap> = start.difference(evidenced).iter().collect();
    let mut kept = evidenced.union(s.shrink(evidenced, &rest)?);
    // Then one removal per evidenced capability.
    for cap in evidenced.iter() {
        let without = kept.difference(CapSet::EMPTY.with(cap));
        let (ok, trial) = s.test(without)?;
        if ok {
            kept = without;
        } else {
            s.failed_without.insert(cap, trial);
        }
    }
    let passed_in = match s.cache.get(&kept) {
        Some((true, n)) => Some(*n),
        _ => None,
    };
    Ok(Minimised {
        kept,
        passed_in,
        failed_without: s.failed_without,
    })
}

/// Trials the one-by-one method needs from a passing set of `n`: one run per removal.
pub fn one_by_one_trials(n: usize) -> usize {
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(start: CapSet, needed: CapSet) -> (Minimised, usize) {
        let mut n = 0;
        let mut test = |s: CapSet| -> Result<Verdict, ()> {
            n += 1;
            Ok((needed.is_subset(s), n))
        };
        let m = minimise(start, 0, CapSet::EMPTY, &[], &mut test).unwrap();
        (m, n)
    }

    fn run_with(start: CapSet, evidenced: CapSet, needed: CapSet) -> (Minimised, usize) {
        let mut n = 0;
        let mut test = |s: CapSet| -> Result<Verdict, ()> {
            n += 1;
            Ok((needed.is_subset(s), n))
        };
        let m = minimise(start, 0, evidenced, &[], &mut test).unwrap();
        (m, n)
    }

    #[test]
    fn evidenced_and_needed_cost_one_trial_each() {
        // nginx: four traced capabilities, all needed, plus NET_RAW from a file capability.
        let four: CapSet = [Cap::CHOWN, Cap::DAC_OVERRIDE, Cap::SETGID, Cap::SETUID]
            .into_iter()
            .collect();
        let (m, n) = run_with(four, four, four);
        assert_eq!((m.kept, n), (four, 4));
        assert_eq!(m.failed_without.len(), 4);
        assert_eq!(m.passed_in, Some(0), "the verification trial proves it");
        let with_file_cap = four.with(Cap::NET_RAW);
        let (m, n) = run_with(with_file_cap, four, four);
        assert_eq!((m.kept, n), (four, 5));
        // The old strategy on the same case:
        let (_, split) = run(four, four);
        assert!(split > 4, "{split}");
    }

    #[test]
    fn known_failures_are_not_run_again() {
        let start = CapSet::EMPTY.with(Cap::NET_RAW).with(Cap::SETGID);
        let evidenced = CapSet::EMPTY.with(Cap::SETGID);
        let mut n = 0;
        let mut test = |s: CapSet| -> Result<Verdict, ()> {
            n += 1;
            Ok((s.contains(Cap::NET_RAW), 10 + n))
        };
        let known = [(evidenced, (false, 2))];
        let m = minimise(start, 3, evidenced, &known, &mut test).unwrap();
        assert_eq!(m.kept, CapSet::EMPTY.with(Cap::NET_RAW));
        assert_eq!(m.failed_without[&Cap::NET_RAW], 2);
        assert_eq!(n, 1, "only the removal of SETPCAP is a new trial");
    }

    #[test]
    fn evidenced_but_unneeded_is_still_removed() {
        let used: CapSet = [Cap::CHOWN, Cap::NET_RAW].into_iter().collect();
        let needed = CapSet::EMPTY.with(Cap::NET_RAW);
        let (m, n) = run_with(used, used, needed);
        assert_eq!((m.kept, n), (needed, 2));
        assert!(m.passed_in.is_some());
    }

    #[test]
    fn needs_nothing_in_one_trial() {
        let (m, n) = run(CapSet::docker_default(), CapSet::EMPTY);
        assert_eq!((m.kept, n), (CapSet::EMPTY, 1));
    }

    #[test]
    fn finds_one_of_fourteen_in_fewer_than_fourteen() {
        let needed = CapSet::EMPTY.with(Cap::NET_RAW);
        let (m, n) = run(CapSet::docker_default(), needed);
        assert_eq!(m.kept, needed);
        assert!(n < 14, "{n} trials");
        assert!(m.failed_without.contains_key(&Cap::NET_RAW));
    }

    #[test]
    fn alternatives_keep_one_passing_choice() {
        // Passes with CHOWN or with FOWNER: the result must pass and be 1-minimal.
        let start = CapSet::docker_default();
        let mut test = |s: CapSet| -> Result<Verdict, ()> {
            Ok((
                s.contains(Cap::CHOWN) || s.contains(Cap::new(3).unwrap()),
                0,
            ))
        };
        let m = minimise(start, 0, CapSet::EMPTY, &[], &mut test).unwrap();
        assert_eq!(m.kept.len(), 1);
        let m = minimise(start, 0, start, &[], &mut test).unwrap();
        assert_eq!(m.kept.len(), 1);
    }

    proptest! {
        #[test]
        fn monotone_oracle_gives_exactly_the_needed_set(start in any::<u64>(), needed in any::<u64>()) {
            let start = CapSet::from_bits(start & CapSet::all_known().bits());
            let needed = CapSet::from_bits(needed).intersect(start);
            let (m, n) = run(start, needed);
            prop_assert_eq!(m.kept, needed);
            prop_assert_eq!(m.failed_without.len(), needed.len());
            prop_assert!(n <= 2 * start.len() + 1);
        }

        #[test]
        fn any_evidence_gives_exactly_the_needed_set(start in any::<u64>(), needed in any::<u64>(), evidenced in any::<u64>()) {
            let start = CapSet::from_bits(start & CapSet::all_known().bits());
            let needed = CapSet::from_bits(needed).intersect(start);
            let evidenced = CapSet::from_bits(evidenced);
            let (m, n) = run_with(start, evidenced, needed);
            prop_assert_eq!(m.kept, needed);
            prop_assert_eq!(m.failed_without.len(), needed.len());
            prop_assert!(n <= 2 * start.len() + 1);
            if evidenced.intersect(start) == needed {
                prop_assert!(n <= needed.len() + 1);
            }
        }
    }
}
