//! Bookkeeping every runtime needs: running executions, the last outcome, the lifecycle state,
//! the setup output owed to the first result, and the cleaned-up flag.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::error::RuntimeError;
use crate::execution::ExecutionControl;
use crate::ids::{ExecutionId, RuntimeId};
use crate::result::Outcome;
use crate::runtime::RuntimeState;

#[derive(Debug, Default)]
struct Inner {
    active: HashMap<ExecutionId, ExecutionControl>,
    last: Option<Outcome>,
    cleaned_up: bool,
    setup: Option<(Bytes, Bytes)>,
}

/// Shared state of one runtime's executions; see the module docs.
#[derive(Debug)]
pub struct ExecutionTracker {
    runtime: RuntimeId,
    inner: Mutex<Inner>,
}

/// Removes an execution from the tracker when dropped (also on panic or cancellation).
#[derive(Debug)]
pub struct ActiveExecution<'a> {
    tracker: &'a ExecutionTracker,
    id: ExecutionId,
    control: ExecutionControl,
}

impl ActiveExecution<'_> {
    /// The execution's kill switch.
    pub fn control(&self) -> &ExecutionControl {
        &self.control
    }

    /// The execution id.
    pub fn id(&self) -> &ExecutionId {
        &self.id
    }

    /// Records how the execution ended (and removes it from the running set).
    pub fn finish(self, outcome: &Outcome) {
        self.tracker.lock().last = Some(outcome.clone());
    }
}

impl Drop for ActiveExecution<'_> {
    fn drop(&mut self) {
        self.tracker.lock().active.remove(&self.id);
    }
}

/// An owned variant of [`ActiveExecution`] for supervisors that run in spawned tasks.
#[derive(Debug)]
pub struct OwnedActiveExecution {
    tracker: std::sync::Arc<ExecutionTracker>,
    id: ExecutionId,
    control: ExecutionControl,
}

impl OwnedActiveExecution {
    /// The execution's kill switch.
    pub fn control(&self) -> &ExecutionControl {
        &self.control
    }

    /// The execution id.
    pub fn id(&self) -> &ExecutionId {
        &self.id
    }

    /// Records how the execution ended.
    pub fn finish(self, outcome: &Outcome) {
        self.tracker.lock().last = Some(outcome.clone());
    }
}

impl Drop for OwnedActiveExecution {
    fn drop(&mut self) {
        self.tracker.lock().active.remove(&self.id);
    }
}

impl ExecutionTracker {
    /// A tracker for runtime `runtime`, in state `Pending`.
    pub fn new(runtime: RuntimeId) -> Self {
        Self {
            runtime,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps inconsistent; keep going.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new execution.
    ///
    /// # Errors
    /// [`RuntimeError::CleanedUp`] after cleanup.
    pub fn begin(&self) -> Result<ActiveExecution<'_>, RuntimeError> {
        let (id, control) = self.register()?;
        Ok(ActiveExecution {
            tracker: self,
            id,
            control,
        })
    }

    /// As [`begin`](Self::begin), for a tracker held in an `Arc`.
    ///
    /// # Errors
    /// [`RuntimeError::CleanedUp`] after cleanup.
    pub fn begin_owned(self: &std::sync::Arc<Self>) -> Result<OwnedActiveExecution, RuntimeError> {
        let (id, control) = self.register()?;
        Ok(OwnedActiveExecution {
            tracker: self.clone(),
            id,
            control,
        })
    }

    fn register(&self) -> Result<(ExecutionId, ExecutionControl), RuntimeError> {
        let mut g = self.lock();
        if g.cleaned_up {
            return Err(RuntimeError::CleanedUp {
                id: self.runtime.clone(),
            });
        }
        let id = ExecutionId::generate();
        let control = ExecutionControl::new();
        g.active.insert(id.clone(), control.clone());
        Ok((id, control))
    }

    /// Kills every running execution; returns how many were asked to stop.
    pub fn kill_all(&self) -> usize {
        let g = self.lock();
        for c in g.active.values() {
            c.kill();
        }
        g.active.len()
    }

    /// Marks the runtime cleaned up and kills everything running. Returns `true` the first
    /// time, `false` when it was already cleaned up.
    pub fn mark_cleaned_up(&self) -> bool {
        let mut g = self.lock();
        for c in g.active.values() {
            c.kill();
        }
        !std::mem::replace(&mut g.cleaned_up, true)
    }

    /// True after cleanup.
    pub fn is_cleaned_up(&self) -> bool {
        self.lock().cleaned_up
    }

    /// Fails with [`RuntimeError::CleanedUp`] after cleanup.
    ///
    /// # Errors
    /// After cleanup.
    pub fn ensure_live(&self) -> Result<(), RuntimeError> {
        if self.is_cleaned_up() {
            Err(RuntimeError::CleanedUp {
                id: self.runtime.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// The lifecycle state.
    pub fn state(&self) -> RuntimeState {
        let g = self.lock();
        if g.cleaned_up {
            RuntimeState::CleanedUp
        } else if !g.active.is_empty() {
            RuntimeState::Running
        } else {
            match &g.last {
                None => RuntimeState::Pending,
                Some(Outcome::Killed) => RuntimeState::Killed,
                Some(o) => RuntimeState::Exited { outcome: o.clone() },
            }
        }
    }

    /// `poll()` for the runtime: the last outcome when nothing runs.
    ///
    /// # Errors
    /// After cleanup.
    pub fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        let g = self.lock();
        if g.cleaned_up {
            return Err(RuntimeError::CleanedUp {
                id: self.runtime.clone(),
            });
        }
        if g.active.is_empty() {
            Ok(g.last.clone())
        } else {
            Ok(None)
        }
    }

    /// Stores the setup output, to be attached to the first result.
    pub fn set_setup_output(&self, stdout: Bytes, stderr: Bytes) {
        self.lock().setup = Some((stdout, stderr));
    }

    /// Takes the setup output (empty after the first call).
    pub fn take_setup_output(&self) -> (Bytes, Bytes) {
        self.lock().setup.take().unwrap_or_default()
    }
}
