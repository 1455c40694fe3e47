//! The process-wide WebAssembly engine: wasmtime `Engine`s (plain and metered), their linkers,
//! the epoch ticker, the pool-slot semaphore and the compiled-module cache.
//!
//! One [`WasiEngine`] serves every runtime a factory spawns: modules compile once per content
//! hash and engine settings, instances come from a pooling allocator with copy-on-write memory
//! images, and one ticker thread advances the epoch for every store (the epoch counter is
//! engine-global, so per-run tickers would interrupt each other).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, PoolingAllocationConfig};

use crate::cache::ModuleCache;
use crate::error::WasiError;
use crate::store::StoreState;

/// Settings of the shared engine. Every default is listed per field.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WasiEngineConfig {
    /// Instances that can exist at once; more executions wait for a slot. Default 1,000.
    pub pool_slots: u32,
    /// Use the pooling allocator (fast instantiation, copy-on-write images). Default `true`;
    /// falls back to on-demand allocation, with a warning, if the pool cannot be reserved.
    pub pooling: bool,
    /// Maximum wasm stack per execution; deeper recursion traps with `stack_overflow`.
    /// Default 1 MiB.
    pub max_wasm_stack: usize,
    /// Epoch tick: the granularity of deadlines, kills and cooperative yields. Default 2 ms.
    pub epoch_tick: Duration,
    /// Maximum elements per table in a pool slot. Default 1,000,000.
    pub max_table_elements: usize,
    /// Default on-disk cache directory for runtimes whose spec sets none. Default
    /// `$XDG_CACHE_HOME/subrun/wasmtime` or `$HOME/.cache/subrun/wasmtime`; `None` when
    /// neither is set (in-memory cache only).
    pub cache_dir: Option<PathBuf>,
    /// Compiled modules kept in memory. Default 256.
    pub memory_cache_entries: usize,
    /// The largest module (`.wasm`/`.wat` file) that is compiled; a larger one is refused
    /// before it is read (an error naming `max_module_bytes`). Default 256 MiB (the
    /// largest interpreter guest, CPython with its scientific stack, is about 100 MiB).
    pub max_module_bytes: u64,
    /// How long one module may take to compile before the execution fails with "compile
    /// budget exceeded" (compilation is not part of the command's `timeout`: a large
    /// interpreter compiles once, then loads from the cache in milliseconds). Cranelift
    /// cannot be interrupted, so the compilation runs on to its end in a background thread and
    /// its result is discarded (`max_module_bytes` bounds how long that can be); a `kill()`
    /// during compilation returns at once the same way. Default 120 s.
    pub compile_timeout: Duration,
    /// Bytes the on-disk cache directory may hold; after writing an artifact, the least
    /// recently used ones are removed until it fits again (and `subrun gc` prunes it).
    /// Default 4 GiB.
    pub max_cache_bytes: u64,
}

impl Default for WasiEngineConfig {
    fn default() -> Self {
        Self {
            pool_slots: 1_000,
            pooling: true,
            max_wasm_stack: 1 << 20,
            epoch_tick: Duration::from_millis(2),
            max_table_elements: 1_000_000,
            cache_dir: default_cache_dir(),
            memory_cache_entries: 256,
            max_module_bytes: 256 << 20,
            compile_timeout: Duration::from_secs(120),
            max_cache_bytes: 4 << 30,
        }
    }
}

/// `$XDG_CACHE_HOME/subrun/wasmtime`, else `$HOME/.cache/subrun/wasmtime`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("subrun").join("wasmtime"))
}

/// Which compilation settings a module needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Variant {
    /// Epoch interruption only.
    Plain,
    /// Fuel metering, canonical NaNs and deterministic relaxed SIMD (fuel budgets and
    /// deterministic mode).
    Metered,
}

impl Variant {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Metered => "metered",
        }
    }
}

/// One wasmtime engine and the linker every instance of it uses.
pub(crate) struct EngineVariant {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
    /// Identifies compiled artifacts of this engine (wasmtime version + settings).
    pub(crate) fingerprint: String,
}

/// The shared engine; see the module docs. Create one per process (or per configuration) and
/// share it through an `Arc`.
pub struct WasiEngine {
    config: WasiEngineConfig,
    plain: EngineVariant,
    metered: OnceLock<Result<EngineVariant, Arc<dyn std::error::Error + Send + Sync>>>,
    pub(crate) cache: ModuleCache,
    pub(crate) slots: Arc<Semaphore>,
    ticker: Ticker,
    pooling: bool,
}

impl std::fmt::Debug for WasiEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiEngine")
            .field("config", &self.config)
            .field("pooling", &self.pooling)
            .finish_non_exhaustive()
    }
}

impl WasiEngine {
    /// Creates the engine and starts its (idle) epoch ticker.
    ///
    /// # Errors
    /// [`WasiError::Engine`] when wasmtime rejects the configuration.
    pub fn new(config: WasiEngineConfig) -> Result<Arc<Self>, WasiError> {
        let (plain, pooling) = build_variant(&config, Variant::Plain)
            .map_err(|e| WasiError::Engine { source: e.into() })?;
        let ticker = Ticker::start(config.epoch_tick);
        ticker.add(plain.engine.clone());
        Ok(Arc::new(Self {
            cache: ModuleCache::new(config.memory_cache_entries),
            slots: Arc::new(Semaphore::new(config.pool_slots as usize)),
            plain,
            metered: OnceLock::new(),
            ticker,
            pooling,
            config,
        }))
    }

    /// The engine's settings.
    pub fn config(&self) -> &WasiEngineConfig {
        &self.config
    }

    /// True when instances come from the pooling allocator.
    pub fn is_pooling(&self) -> bool {
        self.pooling
    }

    /// The engine of `v`, the metered one built on first use (its failure is kept, shared).
    ///
    /// # Errors
    /// [`WasiError::MeteredEngine`] when wasmtime rejects the metered configuration.
    pub(crate) fn variant(&self, v: Variant) -> Result<&EngineVariant, WasiError> {
        match v {
            Variant::Plain => Ok(&self.plain),
            Variant::Metered => self
                .metered
                .get_or_init(|| {
                    let (ev, _) = build_variant(&self.config, Variant::Metered)
                        .map_err(|e| Arc::from(e.into_boxed_dyn_error()))?;
                    self.ticker.add(ev.engine.clone());
                    Ok(ev)
                })
                .as_ref()
                .map_err(|source| WasiError::MeteredEngine {
                    source: source.clone(),
                }),
        }
    }

    /// Marks an execution as running (the ticker runs while any does); the guard ends it.
    pub(crate) fn running(&self) -> RunningGuard<'_> {
        self.ticker.enter();
        RunningGuard {
            ticker: &self.ticker,
        }
    }
}

/// Keeps the epoch ticker awake while an execution runs.
pub(crate) struct RunningGuard<'a> {
    ticker: &'a Ticker,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.ticker.leave();
    }
}

fn build_variant(
    config: &WasiEngineConfig,
    v: Variant,
) -> Result<(EngineVariant, bool), wasmtime::Error> {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .max_wasm_stack(config.max_wasm_stack)
        // The async stack holds the wasm stack plus host frames.
        .async_stack_size(config.max_wasm_stack + (1 << 20))
        // Hardening: one memory, 32-bit; shared memories are compiled out (no `threads`
        // feature), so an atomic wait, which epochs cannot interrupt, cannot happen.
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .memory_init_cow(true);
    if v == Variant::Metered {
        cfg.consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true);
    }
    let mut pooling = false;
    let engine = if config.pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_memories(config.pool_slots)
            .total_tables(config.pool_slots)
            .total_core_instances(config.pool_slots)
            .total_stacks(config.pool_slots)
            .total_gc_heaps(config.pool_slots)
            .total_component_instances(config.pool_slots)
            .table_elements(config.max_table_elements)
            .max_core_instance_size(8 << 20)
            .max_memory_size(1 << 32);
        let mut pooled = cfg.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&pooled) {
            Ok(e) => {
                pooling = true;
                e
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "pooling allocator unavailable; using on-demand allocation");
                Engine::new(&cfg)?
            }
        }
    } else {
        Engine::new(&cfg)?
    };
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut StoreState| &mut s.wasi)?;
    crate::store::shadow_host_functions(&mut linker)?;
    let fingerprint = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        format!("wasmtime48-{}-{:016x}", v.name(), h.finish())
    };
    Ok((
        EngineVariant {
            engine,
            linker,
            fingerprint,
        },
        pooling,
    ))
}

/// One thread that advances the epoch of every engine while any execution runs, and parks
/// otherwise (an idle process costs nothing).
struct Ticker {
    engines: Arc<std::sync::Mutex<Vec<Engine>>>,
    active: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Ticker {
    fn start(tick: Duration) -> Self {
        let engines: Arc<std::sync::Mutex<Vec<Engine>>> = Arc::default();
        let active = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let (engines, active, stop) = (engines.clone(), active.clone(), stop.clone());
            thread::Builder::new()
                .name("subrun-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        if active.load(Ordering::Acquire) == 0 {
                            thread::park();
                            continue;
                        }
                        thread::sleep(tick);
                        let list = engines
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for e in list.iter() {
                            e.increment_epoch();
                        }
                    }
                })
                .ok()
        };
        Self {
            engines,
            active,
            thread,
            stop,
        }
    }

    fn add(&self, engine: Engine) {
        self.engines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(engine);
    }

    fn enter(&self) {
        if self.active.fetch_add(1, Ordering::AcqRel) == 0
            && let Some(t) = &self.thread
        {
            t.thread().unpark();
        }
    }

    fn leave(&self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
