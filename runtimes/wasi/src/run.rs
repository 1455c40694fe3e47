//! One execution: start (resolve, compile, build the WASI context and store, take a slot),
//! then run the guest until it returns or the driver's stop interrupts it, then classify how
//! it ended. The deadline, kill and output cap are the driver's (`subrun::runtime`).

use std::sync::Arc;

use subrun::runtime::{Ended, Io, Job, Stop};
use subrun::{Outcome, Resource, RuntimeError, Stdin, TrapKind, Usage};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::cli::AsyncStdinStream;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder, WasiView as _};

use crate::cache::{Compiled, LoadError};
use crate::config::EntryPoint;
use crate::engine::WasiEngine;
use crate::error::WasiError;
use crate::runtime::Inner;
use crate::sink::OutputSink;
use crate::store::{Limiter, StoreState};
use crate::view::Resolved;

/// Handles a guest holds besides the files it opens and its preopens: the three stdio streams.
const STDIO_HANDLES: usize = 3;
/// Room in the handle table above the open-files limit for transient handles (directory
/// listings, pollables), so reaching `limits.open_files` never traps the guest.
const TRANSIENT_HANDLES: usize = 64;

/// How the entry point is called.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Command,
    Reactor { initialize: bool },
}

/// A started execution: a guest ready to run, or one that ended before it started (not
/// found, stopped while compiling).
pub(crate) enum Prepared {
    Done(Ended),
    Ready(Box<Ready>),
}

pub(crate) struct Ready {
    store: Store<StoreState>,
    compiled: Arc<Compiled>,
    entry: Entry,
    factor: f64,
    fuel: Option<u64>,
    stop: Stop,
    engine: Arc<WasiEngine>,
    /// One of the engine's concurrent-execution slots, held until the guest ends.
    _slot: OwnedSemaphorePermit,
}

impl Inner {
    /// Everything that can fail with an engine error happens here, before the guest starts:
    /// splitting, resolving, compiling, linking, checking the entry point, building the
    /// context. Compilation (seconds for a large interpreter, once) is not part of the
    /// command's time: the driver starts the deadline when this returns.
    pub(crate) async fn prepare(&self, job: Job) -> Result<Prepared, RuntimeError> {
        let Job {
            command,
            env: job_env,
            stdin,
            io:
                Io {
                    stdout,
                    stderr,
                    stop,
                    ..
                },
            ..
        } = job;
        let words = subrun::command::split_command(&command).map_err(|source| {
            RuntimeError::InvalidCommand {
                command: command.clone(),
                source,
            }
        })?;
        let stdout = OutputSink(stdout);
        let stderr = OutputSink(stderr);
        let not_found = |message: &str| {
            stderr.0.write(message.as_bytes());
            Prepared::Done(Ended::with(Outcome::Exited {
                code: subrun::exit_code::NOT_FOUND,
            }))
        };
        let inv = match self
            .view
            .resolve_command(&words, &self.config, &self.spec_base)?
        {
            Resolved::NotFound(message) => return Ok(not_found(&message)),
            Resolved::Run(inv) => inv,
        };
        let load = self.engine.cache.get(
            &self.engine,
            self.variant,
            &inv.source,
            self.cache_dir.as_deref(),
        );
        let compiled = tokio::select! {
            r = load => r,
            () = stop.requested() => {
                // Stopped while compiling: the compilation finishes in the background and is cached.
                return Ok(Prepared::Done(Ended::stopped()));
            }
        };
        let compiled = match compiled {
            Ok(c) => c,
            Err(LoadError::NotFound(path)) => {
                return Ok(not_found(&format!(
                    "subrun: {path}: No such file or directory\n"
                )));
            }
            Err(LoadError::Failed(e)) => return Err(e.into()),
        };
        let entry = choose_entry(inv.entry, &compiled, &inv.source.display())?;

        let mut b = WasiCtxBuilder::new();
        b.args(&inv.argv);
        // The program's own variables fill in what neither the runtime nor the call sets.
        let mut env = job_env;
        for (k, v) in inv.program_env {
            env.entry(k).or_insert(v);
        }
        for (k, v) in &env {
            b.env(k, v);
        }
        match stdin {
            Stdin::Closed => {}
            Stdin::Bytes(bytes) => {
                b.stdin(MemoryInputPipe::new(bytes));
            }
            Stdin::Reader(r) => {
                b.stdin(AsyncStdinStream::new(r));
            }
        }
        b.stdout(stdout.clone()).stderr(stderr.clone());
        let perms = |w: bool| {
            if w {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            }
        };
        let dirs = self.view.preopens_for(&inv.program_mounts)?;
        for d in &dirs {
            b.preopened_dir(&d.host, &d.guest, perms(d.writable))
                .map_err(|e| {
                    RuntimeError::from(WasiError::Preopen {
                        host: d.host.clone(),
                        guest: d.guest.clone(),
                        source: e.into(),
                    })
                })?;
        }
        let preopen_count = dirs.len();
        if self.config.deterministic {
            crate::determinism::make_deterministic(&mut b, self.config.seed);
        }
        let mut wasi = b.build_p1();
        let open_limit = self.limits.open_files.map(|n| {
            let limit = usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_add(preopen_count + STDIO_HANDLES);
            wasi.ctx()
                .table
                .set_max_capacity(limit.saturating_add(TRANSIENT_HANDLES));
            limit
        });
        let ev = self.engine.variant(self.variant)?;
        let limiter = Limiter {
            memory_limit: self
                .limits
                .memory
                .map(|m| usize::try_from(m.bytes()).unwrap_or(usize::MAX)),
            table_limit: usize::try_from(self.config.max_table_elements).unwrap_or(usize::MAX),
            peak_memory: 0,
            memory_denied: false,
            table_denied: false,
        };
        let mut store = Store::new(
            &ev.engine,
            StoreState {
                wasi,
                limiter,
                stop: stop.clone(),
                open_limit,
                disk: self.limits.disk.map(|d| {
                    crate::quota::DiskQuota::new(d.bytes(), self.view.workspace.host.clone())
                }),
            },
        );
        store.limiter(|s| &mut s.limiter);
        let fuel = self.limits.fuel;
        if let Some(f) = fuel {
            store
                .set_fuel(f)
                .map_err(|e| WasiError::Fuel { source: e.into() })?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            let s = cx.data_mut();
            if let Some(q) = &mut s.disk
                && !q.tick(|| crate::store::unlinked_usage(&mut s.wasi))
            {
                s.stop
                    .request(subrun::runtime::StopReason::Exceeded(Resource::Disk));
            }
            if s.stop.is_requested() {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        // A slot is taken before the deadline starts: an execution queued behind others does
        // not spend its time waiting.
        let slot = tokio::select! {
            slot = self.engine.slots.clone().acquire_owned() => slot
                .map_err(|e| RuntimeError::backend("take an execution slot", e))?,
            () = stop.requested() => return Ok(Prepared::Done(Ended::stopped())),
        };
        Ok(Prepared::Ready(Box::new(Ready {
            store,
            compiled,
            entry,
            factor: inv.deadline_factor,
            fuel,
            stop,
            engine: self.engine.clone(),
            _slot: slot,
        })))
    }
}

fn choose_entry(kind: EntryPoint, c: &Compiled, display: &str) -> Result<Entry, WasiError> {
    let missing = || WasiError::NoEntryPoint {
        module: display.to_string(),
        expected: kind,
    };
    let e = &c.exports;
    match kind {
        EntryPoint::Command if e.start => Ok(Entry::Command),
        EntryPoint::Command => Err(missing()),
        EntryPoint::Reactor if e.run => Ok(Entry::Reactor {
            initialize: e.initialize,
        }),
        EntryPoint::Reactor => Err(missing()),
        EntryPoint::Auto if e.start => Ok(Entry::Command),
        EntryPoint::Auto if e.run => Ok(Entry::Reactor {
            initialize: e.initialize,
        }),
        EntryPoint::Auto => Err(missing()),
    }
}

impl Prepared {
    /// The deadline factor of the program that runs.
    pub(crate) fn factor(&self) -> f64 {
        match self {
            Prepared::Done(_) => 1.0,
            Prepared::Ready(r) => r.factor,
        }
    }

    /// Runs the guest to its end. Infallible: every way a guest can end is an outcome.
    pub(crate) async fn run(self) -> Ended {
        let r = match self {
            Prepared::Done(ended) => return ended,
            Prepared::Ready(r) => *r,
        };
        let Ready {
            mut store,
            compiled,
            entry,
            fuel,
            stop,
            engine,
            ..
        } = r;
        let _running = engine.running();
        let end = {
            let store = &mut store;
            let call = async {
                let instance = compiled.pre.instantiate_async(&mut *store).await?;
                match entry {
                    Entry::Command => {
                        let f = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
                        f.call_async(&mut *store, ()).await.map(|()| 0)
                    }
                    Entry::Reactor { initialize } => {
                        if initialize {
                            let init =
                                instance.get_typed_func::<(), ()>(&mut *store, "_initialize")?;
                            init.call_async(&mut *store, ()).await?;
                        }
                        let run = instance.get_typed_func::<(), i32>(&mut *store, "run")?;
                        run.call_async(&mut *store, ()).await
                    }
                }
            };
            tokio::select! {
                biased;
                r = call => Some(r),
                // Blocked in a host call (sleep, stdin): drop the call.
                () = stop.requested() => None,
            }
        };
        let mut usage = Usage::default();
        if let Some(f) = fuel {
            usage.fuel_consumed = Some(f.saturating_sub(store.get_fuel().unwrap_or(0)));
        }
        {
            let s = store.data_mut();
            if let Some(q) = &mut s.disk
                && !q.finish(crate::store::unlinked_usage(&mut s.wasi))
            {
                // Over the quota at the end, though no measurement caught it while running.
                stop.request(subrun::runtime::StopReason::Exceeded(Resource::Disk));
            }
        }
        let state = store.data();
        usage.peak_memory = Some(state.limiter.peak_memory as u64);
        usage.peak_disk = state.disk.as_ref().map(|q| q.peak);
        let (outcome, exit_code) = match end {
            None => (None, None),
            Some(Ok(code)) => (Some(Outcome::Exited { code }), Some(code)),
            Some(Err(e)) => classify(&e, state),
        };
        Ended {
            outcome,
            exit_code,
            usage,
            ended_at: None,
        }
    }
}

/// Maps a guest error to an outcome and, when the guest chose its exit status, that status.
/// `None` when the guest was interrupted by a requested stop (the driver knows why).
fn classify(e: &wasmtime::Error, state: &StoreState) -> (Option<Outcome>, Option<i32>) {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        let code = exit.0;
        if code != 0 && state.limiter.memory_denied {
            let memory = Outcome::ResourceExceeded {
                resource: Resource::Memory,
            };
            return (Some(memory), Some(code));
        }
        return (Some(Outcome::Exited { code }), Some(code));
    }
    if state.stop.is_requested() {
        return (None, None);
    }
    let trap = e.downcast_ref::<Trap>().copied();
    let outcome = match trap {
        // Only a requested stop interrupts a guest.
        Some(Trap::Interrupt) => Outcome::Killed,
        Some(Trap::OutOfFuel) => Outcome::ResourceExceeded {
            resource: Resource::Fuel,
        },
        _ if state.limiter.memory_denied => Outcome::ResourceExceeded {
            resource: Resource::Memory,
        },
        Some(t) => Outcome::Trapped { trap: trap_kind(t) },
        None => {
            let msg = format!("{e:#}");
            tracing::debug!(error = %msg, "guest ended with a non-trap error");
            Outcome::Trapped {
                trap: TrapKind::Other(msg),
            }
        }
    };
    (Some(outcome), None)
}

fn trap_kind(t: Trap) -> TrapKind {
    match t {
        Trap::StackOverflow => TrapKind::StackOverflow,
        Trap::MemoryOutOfBounds | Trap::HeapMisaligned => TrapKind::MemoryOutOfBounds,
        Trap::UnreachableCodeReached => TrapKind::Unreachable,
        Trap::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        Trap::IntegerOverflow => TrapKind::IntegerOverflow,
        Trap::BadConversionToInteger => TrapKind::BadConversionToInteger,
        Trap::IndirectCallToNull => TrapKind::IndirectCallToNull,
        Trap::BadSignature => TrapKind::BadSignature,
        Trap::TableOutOfBounds => TrapKind::TableOutOfBounds,
        Trap::NullReference => TrapKind::NullReference,
        Trap::UnhandledTag => TrapKind::UnhandledException,
        other => TrapKind::Other(other.to_string()),
    }
}
