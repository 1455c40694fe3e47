//! Compiled modules: in memory (with an `InstancePre`) and on disk (`.cwasm` files that only
//! the engine writes).
//!
//! A module is identified by the sha256 of its bytes and the engine settings (plain or
//! metered, wasmtime version, CPU features). To avoid hashing a file on every run, the hash is
//! remembered per file identity (device, inode, size, mtime, ctime): a guest that rewrites a
//! module changes its ctime, so the next run re-reads it.
//!
//! Loading a `.cwasm` runs its bytes as native code, so the disk cache only loads files from a
//! directory owned by this user, not writable by others, that no guest can see (checked at
//! spawn), and written by this engine.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, ExternType, InstancePre, Module};

use crate::engine::{EngineVariant, Variant, WasiEngine};
use crate::error::WasiError;
use crate::store::StoreState;

/// What a module exports as entry points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exports {
    pub(crate) start: bool,
    pub(crate) run: bool,
    pub(crate) initialize: bool,
}

/// A compiled, linked module.
pub(crate) struct Compiled {
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) exports: Exports,
}

/// Where a module's bytes come from.
pub(crate) enum ModuleSource {
    /// A file in a confined directory (the workspace, an asset or a mount), opened beneath it.
    Confined {
        dir: Arc<cap_std::fs::Dir>,
        rel: String,
        /// How the guest names it, for messages.
        display: String,
    },
    /// A host file named by the spec (trusted configuration; ambient authority).
    Host(PathBuf),
}

impl ModuleSource {
    pub(crate) fn display(&self) -> String {
        match self {
            ModuleSource::Confined { display, .. } => display.clone(),
            ModuleSource::Host(p) => p.display().to_string(),
        }
    }
}

/// Why a module could not be loaded.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// No such file: a shell would report "not found" (exit 127), so this is no error.
    NotFound(String),
    /// Any other failure.
    Failed(WasiError),
}

impl From<WasiError> for LoadError {
    fn from(e: WasiError) -> Self {
        LoadError::Failed(e)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

type Hash = [u8; 32];
type Slot = Arc<tokio::sync::OnceCell<Arc<Compiled>>>;

/// Counters for benchmarks and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Modules compiled by Cranelift.
    pub compiled: u64,
    /// Modules loaded from the on-disk cache.
    pub loaded_from_disk: u64,
    /// Runs served by an in-memory compiled module.
    pub memory_hits: u64,
}

/// See the module docs.
pub(crate) struct ModuleCache {
    by_file: Mutex<HashMap<FileKey, Hash>>,
    compiled: Mutex<HashMap<(Variant, Hash), Slot>>,
    capacity: usize,
    compiles: AtomicU64,
    disk_loads: AtomicU64,
    memory_hits: AtomicU64,
}

const FILE_KEYS_MAX: usize = 16_384;

impl ModuleCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            by_file: Mutex::default(),
            compiled: Mutex::default(),
            capacity: capacity.max(1),
            compiles: AtomicU64::new(0),
            disk_loads: AtomicU64::new(0),
            memory_hits: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            compiled: self.compiles.load(Ordering::Relaxed),
            loaded_from_disk: self.disk_loads.load(Ordering::Relaxed),
            memory_hits: self.memory_hits.load(Ordering::Relaxed),
        }
    }

    /// Returns the compiled module for `source`, compiling (or loading from `disk_dir`) at most
    /// once per content hash and variant, even under concurrent requests.
    pub(crate) async fn get(
        &self,
        engine: &WasiEngine,
        variant: Variant,
        source: &ModuleSource,
        disk_dir: Option<&Path>,
    ) -> Result<Arc<Compiled>, LoadError> {
        let key = file_key(source)?;
        let limit = engine.config().max_module_bytes;
        if key.size > limit {
            return Err(WasiError::TooLarge {
                module: source.display(),
                size: key.size,
                limit,
            }
            .into());
        }
        let known = self
            .by_file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .copied();
        if let Some(hash) = known {
            let slot = self
                .compiled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&(variant, hash))
                .cloned();
            if let Some(c) = slot.as_ref().and_then(|s| s.get()) {
                self.memory_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(c.clone());
            }
        }
        let bytes = read(source, limit)?;
        let hash: Hash = Sha256::digest(&bytes).into();
        {
            let mut map = self
                .by_file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if map.len() >= FILE_KEYS_MAX {
                map.clear();
            }
            map.insert(key, hash);
        }
        let slot = {
            let mut map = self
                .compiled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if map.len() >= self.capacity && !map.contains_key(&(variant, hash)) {
                // Drop modules no execution holds; in-flight compilations stay.
                map.retain(|_, s| {
                    Arc::strong_count(s) > 1 || s.get().is_none_or(|c| Arc::strong_count(c) > 1)
                });
            }
            map.entry((variant, hash)).or_default().clone()
        };
        let display = source.display();
        let budget = engine.config().compile_timeout;
        let init = slot.get_or_try_init(|| async {
            let ev = engine.variant(variant)?;
            let module = self
                .load_or_compile(
                    ev,
                    &display,
                    bytes,
                    &hash,
                    disk_dir,
                    engine.config().max_cache_bytes,
                )
                .await?;
            let pre = ev
                .linker
                .instantiate_pre(&module)
                .map_err(|e| WasiError::Link {
                    module: display.clone(),
                    source: e.into(),
                })?;
            Ok::<_, LoadError>(Arc::new(Compiled {
                exports: exports_of(&module),
                pre,
            }))
        });
        let compiled =
            tokio::time::timeout(budget, init)
                .await
                .map_err(|_| WasiError::CompileBudget {
                    module: display.clone(),
                    budget,
                })??;
        Ok(compiled.clone())
    }

    async fn load_or_compile(
        &self,
        ev: &EngineVariant,
        display: &str,
        bytes: Vec<u8>,
        hash: &Hash,
        disk_dir: Option<&Path>,
        max_cache_bytes: u64,
    ) -> Result<Module, LoadError> {
        let cached =
            disk_dir.map(|d| d.join(format!("{}-{}.cwasm", hex::encode(hash), ev.fingerprint)));
        if let Some(path) = &cached
            && let Some(m) = load_trusted_artifact(&ev.engine, path)
        {
            self.disk_loads.fetch_add(1, Ordering::Relaxed);
            return Ok(m);
        }
        if Engine::detect_precompiled(&bytes).is_some() {
            return Err(WasiError::Precompiled {
                module: display.to_string(),
            }
            .into());
        }
        let engine = ev.engine.clone();
        let shown = display.to_string();
        let span = tracing::info_span!("compile", module = %shown, bytes = bytes.len());
        let module = tokio::task::spawn_blocking(move || {
            let _g = span.enter();
            Module::new(&engine, &bytes)
        })
        .await
        .map_err(|e| WasiError::Compile {
            module: display.to_string(),
            source: e.into(),
        })?
        .map_err(|e| WasiError::Compile {
            module: display.to_string(),
            source: e.into(),
        })?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        if let (Some(path), Some(dir)) = (&cached, disk_dir) {
            match store_artifact(dir, path, &module) {
                Ok(()) => {
                    if let Err(e) = prune(dir, max_cache_bytes) {
                        tracing::warn!(dir = %dir.display(), error = %e, "cannot prune the compiled-module cache");
                    }
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write the compiled-module cache");
                }
            }
        }
        Ok(module)
    }
}

fn exports_of(module: &Module) -> Exports {
    let is_func = |name: &str| matches!(module.get_export(name), Some(ExternType::Func(_)));
    Exports {
        start: is_func("_start"),
        run: is_func("run"),
        initialize: is_func("_initialize"),
    }
}

fn not_found_or_read(display: String, e: std::io::Error) -> LoadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        LoadError::NotFound(display)
    } else {
        LoadError::Failed(WasiError::ReadModule {
            module: display,
            source: e,
        })
    }
}

fn file_key(source: &ModuleSource) -> Result<FileKey, LoadError> {
    match source {
        ModuleSource::Confined { dir, rel, display } => {
            use cap_std::fs::MetadataExt as _;
            let m = dir
                .metadata(rel)
                .map_err(|e| not_found_or_read(display.clone(), e))?;
            if !m.is_file() {
                return Err(WasiError::NotAFile {
                    module: display.clone(),
                }
                .into());
            }
            Ok(FileKey {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            })
        }
        ModuleSource::Host(p) => {
            let m =
                std::fs::metadata(p).map_err(|e| not_found_or_read(p.display().to_string(), e))?;
            Ok(FileKey {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            })
        }
    }
}

/// Reads the module, at most `limit` bytes (a file that grew past it since its size was
/// checked is refused).
fn read(source: &ModuleSource, limit: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::Read as _;
    let (file, display) = match source {
        ModuleSource::Confined { dir, rel, display } => (
            dir.open(rel)
                .map(cap_std::fs::File::into_std)
                .map_err(|e| not_found_or_read(display.clone(), e))?,
            display.clone(),
        ),
        ModuleSource::Host(p) => (
            std::fs::File::open(p).map_err(|e| not_found_or_read(p.display().to_string(), e))?,
            p.display().to_string(),
        ),
    };
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| not_found_or_read(display.clone(), e))?;
    if bytes.len() as u64 > limit {
        return Err(WasiError::TooLarge {
            module: display,
            size: bytes.len() as u64,
            limit,
        }
        .into());
    }
    Ok(bytes)
}

/// What [`prune`] removed and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneSummary {
    /// Artifacts removed.
    pub removed: u64,
    /// Bytes they held.
    pub removed_bytes: u64,
    /// Artifacts kept.
    pub kept: u64,
    /// Bytes they hold.
    pub kept_bytes: u64,
}

/// Removes the least recently used compiled artifacts (`*.cwasm`, by access time, else
/// modification time) of the cache directory `dir` until the rest hold at most `max_bytes`.
/// Other files are left alone; a missing directory is empty.
///
/// # Errors
/// `dir` cannot be listed.
pub fn prune(dir: &Path, max_bytes: u64) -> std::io::Result<PruneSummary> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PruneSummary::default()),
        Err(e) => return Err(e),
    };
    let mut artifacts = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "cwasm") {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            let used = (meta.atime(), meta.atime_nsec()).max((meta.mtime(), meta.mtime_nsec()));
            artifacts.push((used, meta.len(), path));
        }
    }
    // Newest first: keep while they fit.
    artifacts.sort_by_key(|a| std::cmp::Reverse(a.0));
    let mut summary = PruneSummary::default();
    for (_, len, path) in artifacts {
        if summary.kept_bytes.saturating_add(len) <= max_bytes {
            summary.kept += 1;
            summary.kept_bytes += len;
        } else if std::fs::remove_file(&path).is_ok() {
            summary.removed += 1;
            summary.removed_bytes += len;
        } else {
            summary.kept += 1;
            summary.kept_bytes += len;
        }
    }
    Ok(summary)
}

/// True when `meta` belongs to this user and no one else can write it.
fn private(meta: &std::fs::Metadata) -> bool {
    meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o022 == 0
}

/// Loads a `.cwasm` written by this engine, refusing anything another user could have placed.
fn load_trusted_artifact(engine: &Engine, path: &Path) -> Option<Module> {
    let dir_meta = std::fs::symlink_metadata(path.parent()?).ok()?;
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !(dir_meta.is_dir() && private(&dir_meta) && meta.is_file() && private(&meta)) {
        if meta.is_file() {
            tracing::warn!(path = %path.display(), "ignoring a compiled module not private to this user");
        }
        return None;
    }
    // SAFETY: the artifact was produced by `Module::serialize` of this engine configuration (its
    // name carries the engine fingerprint), in a directory only this user can write, checked above.
    match unsafe { Module::deserialize_file(engine, path) } {
        Ok(m) => {
            // Recently used: what `prune` keeps longest.
            let _ = std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()));
            Some(m)
        }
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %format!("{e:#}"), "stale compiled module; recompiling");
            None
        }
    }
}

fn store_artifact(dir: &Path, path: &Path, module: &Module) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !(meta.is_dir() && private(&meta)) {
        return Err(std::io::Error::other(format!(
            "cache directory {} must be a directory owned by this user and not writable by others",
            dir.display()
        )));
    }
    // wasmtime's error boxed whole: the io error shows its message, its chain stays the source.
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod prune_tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// Regression (hardening round 2): every distinct module added a `.cwasm` to the disk
    /// cache for ever. Pruning keeps the most recently used artifacts within the bound.
    #[test]
    fn prune_keeps_the_most_recently_used_artifacts_within_the_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = SystemTime::now();
        for (name, age_s) in [("old", 300), ("mid", 200), ("new", 100)] {
            let path = dir.path().join(format!("{name}.cwasm"));
            std::fs::write(&path, vec![0_u8; 1000]).expect("write");
            let t = now - Duration::from_secs(age_s);
            let f = std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open");
            f.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t))
                .expect("set times");
        }
        std::fs::write(dir.path().join("notes.txt"), vec![0_u8; 5000]).expect("write");
        let s = prune(dir.path(), 2500).expect("prune");
        assert_eq!(
            s,
            PruneSummary {
                removed: 1,
                removed_bytes: 1000,
                kept: 2,
                kept_bytes: 2000
            }
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        left.sort();
        assert_eq!(left, ["mid.cwasm", "new.cwasm", "notes.txt"]);
        assert_eq!(
            prune(&dir.path().join("missing"), 0).expect("missing"),
            PruneSummary::default()
        );
    }
}
