//! Group dependencies while grading: a case of a group that depends on others waits until
//! they finished, and is skipped when one of them was not fully accepted.
//!
//! The grader queues groups so that each comes after the groups it depends on
//! (`problem::dependencies::order`), and its workers take cases in queue order.
//! A worker waiting at [`DependencyGate::wait`] therefore waits only for cases that other
//! workers already took, of groups earlier in the queue, and those wait (if at all) only for
//! groups earlier still: the earliest group anyone waits for is being run, so the wait always
//! ends. A case a worker took is recorded as finished even when the worker unwinds
//! ([`Held`]'s drop), so no one waits for a case that will never finish.

use tokio::sync::watch;

/// How far one group is, for one submission.
#[derive(Clone, Copy, Debug)]
struct GroupState {
    /// Cases not finished yet.
    remaining: usize,
    /// True once a case finished without AC (skipped cases included).
    failed: bool,
}

/// The groups' progress for one submission, and what each group depends on.
#[derive(Debug)]
pub(crate) struct DependencyGate {
    deps: Vec<Vec<usize>>,
    state: watch::Sender<Vec<GroupState>>,
}

impl DependencyGate {
    /// A gate for groups with `cases[g]` cases each, group `g` depending on `deps[g]`.
    pub(crate) fn new(cases: &[usize], deps: Vec<Vec<usize>>) -> Self {
        let state = cases
            .iter()
            .map(|&remaining| GroupState {
                remaining,
                failed: false,
            })
            .collect();
        Self {
            deps,
            state: watch::Sender::new(state),
        }
    }

    /// True when group `g` depends on no group (its cases never wait).
    pub(crate) fn is_free(&self, g: usize) -> bool {
        self.deps[g].is_empty()
    }

    /// Waits until every group `g` depends on finished. `Err(d)` names a group `d` it depends
    /// on that was not fully accepted (known as soon as one of `d`'s cases failed).
    pub(crate) async fn wait(&self, g: usize) -> Result<(), usize> {
        let deps = &self.deps[g];
        let decided = |state: &Vec<GroupState>| -> Option<Result<(), usize>> {
            if let Some(&d) = deps.iter().find(|&&d| state[d].failed) {
                return Some(Err(d));
            }
            deps.iter()
                .all(|&d| state[d].remaining == 0)
                .then_some(Ok(()))
        };
        let mut rx = self.state.subscribe();
        let result = match rx.wait_for(|s| decided(s).is_some()).await {
            Ok(state) => decided(&state),
            // The sender lives in `self`: it cannot be dropped while we borrow it.
            Err(_) => None,
        };
        result.unwrap_or(Ok(()))
    }

    /// Marks a case of group `g` as taken; record how it ended with [`Held::finish`].
    pub(crate) fn hold(&self, g: usize) -> Held<'_> {
        Held {
            gate: self,
            group: g,
            done: false,
        }
    }

    fn record(&self, g: usize, accepted: bool) {
        self.state.send_modify(|state| {
            let s = &mut state[g];
            s.remaining = s.remaining.saturating_sub(1);
            s.failed |= !accepted;
        });
    }
}

/// A case a worker took; dropped without [`finish`](Self::finish) (the worker unwound), the
/// case counts as finished and not accepted.
#[derive(Debug)]
pub(crate) struct Held<'a> {
    gate: &'a DependencyGate,
    group: usize,
    done: bool,
}

impl Held<'_> {
    /// Records that the case finished, accepted or not.
    pub(crate) fn finish(mut self, accepted: bool) {
        self.done = true;
        self.gate.record(self.group, accepted);
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.gate.record(self.group, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_dependent_group_waits_for_its_group_then_runs_or_is_told_which_failed() {
        // Group 1 depends on group 0 (two cases); group 2 on group 1.
        let gate = Arc::new(DependencyGate::new(
            &[2, 1, 1],
            vec![vec![], vec![0], vec![1]],
        ));
        assert!(gate.is_free(0) && !gate.is_free(1));
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait(1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "group 0 has not finished");
        gate.hold(0).finish(true);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "one case of group 0 is left");
        gate.hold(0).finish(true);
        assert_eq!(waiting.await.unwrap(), Ok(()));
        // A case dropped unfinished (its worker unwound) fails its group at once.
        drop(gate.hold(1));
        assert_eq!(gate.wait(2).await, Err(1));
    }

    #[tokio::test]
    async fn a_failure_is_known_before_the_failed_group_finished() {
        let gate = DependencyGate::new(&[3, 1], vec![vec![], vec![0]]);
        gate.hold(0).finish(false);
        assert_eq!(gate.wait(1).await, Err(0));
    }
}
