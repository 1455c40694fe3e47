//! One execution: prepare (resolve, compile, build the WASI context and store), then run under
//! the supervisor (deadline, kill, output cap), then classify how it ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use subrun::output::{StreamCapture, StreamKind};
use subrun::{
    EventSender, ExecRequest, ExecutionControl, ExecutionId, Outcome, Resource, RuntimeError,
    RuntimeResult, Stdin, TrapKind, Usage,
};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::cli::AsyncStdinStream;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder, WasiView as _};

use crate::cache::{Compiled, LoadError};
use crate::config::EntryKind;
use crate::runtime::Inner;
use crate::sink::OutputSink;
use crate::store::{Limiter, StopSignal, StoreState};
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

/// An execution ready to run (or a command that resolved to nothing).
pub(crate) struct Prepared {
    id: ExecutionId,
    started: Instant,
    stdout: OutputSink,
    stderr: OutputSink,
    stop: Arc<StopSignal>,
    timeout: Duration,
    work: Work,
}

enum Work {
    /// Nothing to run: the command was not found (exit 127), or it was killed before start.
    Nothing,
    Ready {
        store: Box<Store<StoreState>>,
        compiled: Arc<Compiled>,
        entry: Entry,
        factor: f64,
        fuel: Option<u64>,
    },
}

impl Inner {
    /// Everything that can fail with an engine error happens here, before the command starts:
    /// splitting, resolving, compiling, linking, checking the entry point, building the context.
    pub(crate) async fn prepare(
        &self,
        request: ExecRequest,
        id: ExecutionId,
        control: &ExecutionControl,
        sink: Option<EventSender>,
    ) -> Result<Prepared, RuntimeError> {
        let started = Instant::now();
        let words = subrun::command::split_command(&request.command).map_err(|source| {
            RuntimeError::InvalidCommand {
                command: request.command.clone(),
                source,
            }
        })?;
        let cap = self.limits.output.bytes();
        let stop = Arc::new(StopSignal::default());
        let stdout = OutputSink::new(
            StreamCapture::new(StreamKind::Stdout, cap, sink.clone()),
            stop.clone(),
        );
        let stderr = OutputSink::new(
            StreamCapture::new(StreamKind::Stderr, cap, sink),
            stop.clone(),
        );
        let timeout = request.timeout.unwrap_or(self.limits.timeout);
        let not_found = |message: &str, stdout: OutputSink, stderr: OutputSink, stop| {
            stderr.write_host_message(message.as_bytes());
            Prepared {
                id: id.clone(),
                started,
                stdout,
                stderr,
                stop,
                timeout,
                work: Work::Nothing,
            }
        };
        let inv = match self
            .view
            .resolve_command(&words, &self.config, &self.spec_base)?
        {
            Resolved::NotFound(message) => return Ok(not_found(&message, stdout, stderr, stop)),
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
            () = control.killed() => {
                // Killed while compiling: the compilation finishes in the background and is cached.
                return Ok(not_found("", stdout, stderr, stop));
            }
        };
        let compiled = match compiled {
            Ok(c) => c,
            Err(LoadError::NotFound(path)) => {
                return Ok(not_found(
                    &format!("subrun: {path}: No such file or directory\n"),
                    stdout,
                    stderr,
                    stop,
                ));
            }
            Err(e) => return Err(RuntimeError::backend("load the module", e)),
        };
        let entry = choose_entry(inv.entry, &compiled, &inv.source.display())?;
        // Compilation (seconds for a large interpreter, once) is not part of the command's time.
        let started = Instant::now();

        let mut b = WasiCtxBuilder::new();
        b.args(&inv.argv);
        let mut env = self.env.clone();
        for (k, v) in inv.program_env {
            env.entry(k).or_insert(v);
        }
        for (k, v) in &request.env {
            env.insert(k.clone(), v.clone());
        }
        for (k, v) in &env {
            b.env(k, v);
        }
        match request.stdin {
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
                    RuntimeError::backend(
                        format!("preopen `{}` at `{}`", d.host.display(), d.guest),
                        std::io::Error::other(format!("{e:#}")),
                    )
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
        let ev = self
            .engine
            .variant(self.variant)
            .map_err(|m| RuntimeError::backend("create the engine", std::io::Error::other(m)))?;
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
                control: control.clone(),
                // Set for real when the guest starts.
                deadline: Instant::now() + timeout,
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
            store.set_fuel(f).map_err(|e| {
                RuntimeError::backend(
                    "set the fuel budget",
                    std::io::Error::other(format!("{e:#}")),
                )
            })?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut cx| {
            let s = cx.data_mut();
            if let Some(q) = &mut s.disk
                && !q.tick(|| crate::store::unlinked_usage(&mut s.wasi))
            {
                s.stop.raise(Resource::Disk);
            }
            if s.control.is_killed() || s.stop.get().is_some() || Instant::now() >= s.deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(Prepared {
            id,
            started,
            stdout,
            stderr,
            stop,
            timeout,
            work: Work::Ready {
                store: Box::new(store),
                compiled,
                entry,
                factor: inv.deadline_factor,
                fuel,
            },
        })
    }
}

fn choose_entry(kind: EntryKind, c: &Compiled, display: &str) -> Result<Entry, RuntimeError> {
    let bad = |msg: String| {
        RuntimeError::backend(
            format!("enter module `{display}`"),
            std::io::Error::other(msg),
        )
    };
    let e = &c.exports;
    match kind {
        EntryKind::Command if e.start => Ok(Entry::Command),
        EntryKind::Command => Err(bad("it exports no `_start: () -> ()` (a WASI command entry point)".into())),
        EntryKind::Reactor if e.run => Ok(Entry::Reactor {
            initialize: e.initialize,
        }),
        EntryKind::Reactor => Err(bad("it exports no `run: () -> i32` (a reactor entry point)".into())),
        EntryKind::Auto if e.start => Ok(Entry::Command),
        EntryKind::Auto if e.run => Ok(Entry::Reactor {
            initialize: e.initialize,
        }),
        EntryKind::Auto => Err(bad(
            "it exports neither `_start: () -> ()` (a WASI command) nor `run: () -> i32` (a reactor)".into(),
        )),
    }
}

/// How the supervisor saw the end.
enum End {
    Returned(wasmtime::Result<i32>),
    Killed,
    TimedOut,
}

impl Prepared {
    /// Runs the guest to its end. Infallible: every way a guest can end is an outcome.
    pub(crate) async fn run(
        self,
        inner: &Inner,
        control: &ExecutionControl,
        setup: (bytes::Bytes, bytes::Bytes),
    ) -> RuntimeResult {
        let Prepared {
            id,
            started,
            stdout,
            stderr,
            stop,
            timeout,
            work,
        } = self;
        let mut usage = Usage::default();
        let (outcome, guest_code) = match work {
            Work::Nothing if control.is_killed() => (Outcome::Killed, None),
            Work::Nothing => (
                Outcome::Exited {
                    code: subrun::exit_code::NOT_FOUND,
                },
                None,
            ),
            Work::Ready {
                mut store,
                compiled,
                entry,
                factor,
                fuel,
            } => {
                let deadline_len = timeout.mul_f64(factor);
                usage.deadline = Some(deadline_len);
                usage.deadline_factor = (factor != 1.0).then_some(factor);
                let _permit = inner.engine.slots.clone().acquire_owned().await;
                let _running = inner.engine.running();
                let deadline = Instant::now() + deadline_len;
                store.data_mut().deadline = deadline;
                let end = {
                    let store = &mut *store;
                    let call = async {
                        let instance = compiled.pre.instantiate_async(&mut *store).await?;
                        match entry {
                            Entry::Command => {
                                let f = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
                                f.call_async(&mut *store, ()).await.map(|()| 0)
                            }
                            Entry::Reactor { initialize } => {
                                if initialize {
                                    let init = instance
                                        .get_typed_func::<(), ()>(&mut *store, "_initialize")?;
                                    init.call_async(&mut *store, ()).await?;
                                }
                                let run = instance.get_typed_func::<(), i32>(&mut *store, "run")?;
                                run.call_async(&mut *store, ()).await
                            }
                        }
                    };
                    tokio::select! {
                        biased;
                        r = call => End::Returned(r),
                        () = control.killed() => End::Killed,
                        () = tokio::time::sleep_until(deadline.into()) => End::TimedOut,
                    }
                };
                if let Some(f) = fuel {
                    usage.fuel_consumed = Some(f.saturating_sub(store.get_fuel().unwrap_or(0)));
                }
                let over_quota = {
                    let s = store.data_mut();
                    match &mut s.disk {
                        Some(q) => !q.finish(crate::store::unlinked_usage(&mut s.wasi)),
                        None => false,
                    }
                };
                let state = store.data();
                usage.peak_memory = Some(state.limiter.peak_memory as u64);
                usage.peak_disk = state.disk.as_ref().map(|q| q.peak);
                let classified = match end {
                    End::Killed => (Outcome::Killed, None),
                    End::TimedOut => (Outcome::TimedOut, None),
                    // Over the quota at the end, though no measurement caught it while running.
                    End::Returned(Ok(_)) if over_quota => (
                        Outcome::ResourceExceeded {
                            resource: Resource::Disk,
                        },
                        None,
                    ),
                    End::Returned(Ok(code)) => (Outcome::Exited { code }, Some(code)),
                    End::Returned(Err(e)) => classify(&e, state, deadline),
                };
                drop(store);
                classified
            }
        };
        let out = stdout.finish();
        let err = stderr.finish();
        let elapsed = started.elapsed();
        usage.wall_time = elapsed;
        usage.stdout_bytes = out.total;
        usage.stderr_bytes = err.total;
        let _ = stop;
        RuntimeResult {
            execution_id: id,
            exit_code: guest_code.unwrap_or_else(|| outcome.default_exit_code()),
            timed_out: outcome == Outcome::TimedOut,
            outcome,
            stdout: out.bytes,
            stderr: err.bytes,
            stdout_truncated: out.truncated,
            stderr_truncated: err.truncated,
            setup_stdout: setup.0,
            setup_stderr: setup.1,
            elapsed,
            usage,
        }
    }
}

/// Maps a guest error to an outcome and, when the guest chose its exit status, that status.
fn classify(e: &wasmtime::Error, state: &StoreState, deadline: Instant) -> (Outcome, Option<i32>) {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        let code = exit.0;
        if code != 0 && state.limiter.memory_denied {
            return (
                Outcome::ResourceExceeded {
                    resource: Resource::Memory,
                },
                Some(code),
            );
        }
        return (Outcome::Exited { code }, Some(code));
    }
    if let Some(resource) = state.stop.get() {
        return (Outcome::ResourceExceeded { resource }, None);
    }
    let trap = e.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::Interrupt) => {
            if state.control.is_killed() {
                (Outcome::Killed, None)
            } else if Instant::now() >= deadline {
                (Outcome::TimedOut, None)
            } else {
                (Outcome::Killed, None)
            }
        }
        Some(Trap::OutOfFuel) => (
            Outcome::ResourceExceeded {
                resource: Resource::Fuel,
            },
            None,
        ),
        _ if state.limiter.memory_denied => (
            Outcome::ResourceExceeded {
                resource: Resource::Memory,
            },
            None,
        ),
        Some(t) => (Outcome::Trapped { trap: trap_kind(t) }, None),
        None => {
            let msg = format!("{e:#}");
            tracing::debug!(error = %msg, "guest ended with a non-trap error");
            (
                Outcome::Trapped {
                    trap: TrapKind::Other(msg),
                },
                None,
            )
        }
    }
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
