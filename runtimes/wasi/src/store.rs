//! Per-execution store data: the WASI context, the recording limiter and the execution's stop,
//! which the epoch callback checks.

use subrun::Resource;
use subrun::runtime::{Stop, StopReason};
use wasmtime::{AsContextMut as _, Caller, Extern, Linker, ResourceLimiter};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{I32Exit, WasiView as _};

/// A `ResourceLimiter` that enforces the memory and table limits and records what it denied
/// and the peak linear memory, so a denial can be reported as `ResourceExceeded { memory }`
/// (wasm's `memory.grow` just returns -1; the trap that follows says nothing about why).
#[derive(Debug)]
pub(crate) struct Limiter {
    pub(crate) memory_limit: Option<usize>,
    pub(crate) table_limit: usize,
    pub(crate) peak_memory: usize,
    pub(crate) memory_denied: bool,
    pub(crate) table_denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self.memory_limit.is_some_and(|l| desired > l) {
            self.memory_denied = true;
            return Ok(false);
        }
        self.peak_memory = self.peak_memory.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_limit {
            self.table_denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        // Module-defined tables (modules may define a few; references are limited by size).
        16
    }
}

/// Data of one execution's `Store`.
pub(crate) struct StoreState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: Limiter,
    /// Requested by the driver (kill, deadline, output cap) or by the disk quota.
    pub(crate) stop: Stop,
    /// Handles (files, preopens, stdio) at which `path_open` fails with `EMFILE`.
    pub(crate) open_limit: Option<usize>,
    /// The workspace size quota, when `limits.disk` is set.
    pub(crate) disk: Option<crate::quota::DiskQuota>,
}

/// WASI errno `mfile`: too many open files.
const ERRNO_MFILE: i32 = 33;
/// WASI errno `success`.
const ERRNO_SUCCESS: i32 = 0;
/// The `creat` bit of preview1 `oflags`.
const OFLAGS_CREAT: i32 = 1;
/// What the quota charges for a new directory entry.
const ENTRY_COST: u64 = subrun::quota::ENTRY_COST;

/// The parameters of preview1 `path_open`.
type PathOpenArgs = (i32, i32, i32, i32, i32, i64, i64, i32, i32);

/// Calls wasmtime-wasi's stock preview1 function `$func` with the caller's memory, exactly as
/// its own linker glue does.
macro_rules! stock {
    ($caller:ident, $func:ident ( $($arg:expr),* $(,)? )) => {
        stock!(@call $caller, $func, ($($arg),*), .await)
    };
    (sync $caller:ident, $func:ident ( $($arg:expr),* $(,)? )) => {
        stock!(@call $caller, $func, ($($arg),*),)
    };
    (@call $caller:ident, $func:ident, ( $($arg:expr),* ), $($await:tt)*) => {{
        let fuel = $caller.as_context_mut().hostcall_fuel();
        let Some(Extern::Memory(memory)) = $caller.get_export("memory") else {
            return Err(wasmtime::Error::msg("missing required memory export"));
        };
        let (bytes, state) = memory.data_and_store_mut(&mut $caller);
        state.wasi.set_hostcall_fuel(fuel);
        let mut mem = wiggle::GuestMemory::Unshared(bytes);
        p1::$func(&mut state.wasi, &mut mem, $($arg),*) $($await)*
    }};
}

/// After a call that may grow the workspace: charges the quota (if any) and stops the guest
/// when it is over.
fn charge_disk(
    caller: &mut Caller<'_, StoreState>,
    bytes: u64,
    measure_now: bool,
) -> wasmtime::Result<()> {
    let state = caller.data_mut();
    if let Some(q) = &mut state.disk
        && !q.charge(bytes, measure_now, || unlinked_usage(&mut state.wasi))
    {
        state.stop.request(StopReason::Exceeded(Resource::Disk));
        return Err(wasmtime::Error::msg("disk quota exceeded"));
    }
    Ok(())
}

/// Bytes of the files the guest holds open that no longer have a name (`nlink == 0`: opened,
/// then unlinked), counted as [`subrun::quota::workspace_usage`] counts a file. A walk of the
/// workspace cannot see them, yet they take disk until the guest closes them.
pub(crate) fn unlinked_usage(wasi: &mut WasiP1Ctx) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut total = 0_u64;
    for entry in wasi.ctx().table.iter_mut() {
        if let Some(wasmtime_wasi::filesystem::Descriptor::File(f)) = entry.downcast_ref()
            && let Ok(meta) = f.file.metadata()
            && meta.nlink() == 0
        {
            total = total
                .saturating_add(ENTRY_COST)
                .saturating_add(meta.len().max(meta.blocks().saturating_mul(512)));
        }
    }
    total
}

/// After a call that adds one entry when it succeeds: charges [`ENTRY_COST`].
fn charge_entry(caller: &mut Caller<'_, StoreState>, errno: i32) -> wasmtime::Result<()> {
    if errno == ERRNO_SUCCESS {
        charge_disk(caller, ENTRY_COST, false)?;
    }
    Ok(())
}

/// Reads the little-endian u32 the guest's `nwritten` pointer received.
fn read_u32(caller: &mut Caller<'_, StoreState>, ptr: i32) -> u64 {
    let Some(Extern::Memory(m)) = caller.get_export("memory") else {
        return 0;
    };
    let data = m.data(&*caller);
    let at = ptr as u32 as usize;
    data.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, |b: [u8; 4]| u64::from(u32::from_le_bytes(b)))
}

/// Replaces host functions whose stock behaviour does not fit the engine's contract:
/// - `proc_exit` accepts every status a shell reports (0..=255) instead of failing at 126+;
/// - `path_open` fails with `EMFILE` once the guest holds `limits.open_files` files, instead of
///   trapping when the handle table fills up;
/// - calls that can grow the workspace charge `limits.disk` (see [`crate::quota`]).
///
/// Below those checks every function is the stock implementation, called through the same
/// preview1 glue wasmtime-wasi's own linker uses; with no quota the cost is the stock cost.
pub(crate) fn shadow_host_functions(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p1::wasi_snapshot_preview1::{self as p1, WasiSnapshotPreview1 as _};
    const M: &str = "wasi_snapshot_preview1";
    linker.allow_shadowing(true);
    linker.func_wrap_async(
        M,
        "path_open",
        |mut caller: Caller<'_, StoreState>, args: PathOpenArgs| {
            Box::new(async move {
                if let Some(limit) = caller.data().open_limit {
                    let held = caller.data_mut().wasi.ctx().table.iter_mut().count();
                    if held >= limit {
                        return Ok(ERRNO_MFILE);
                    }
                }
                let (a0, a1, a2, a3, a4, a5, a6, a7, a8) = args;
                let errno = stock!(caller, path_open(a0, a1, a2, a3, a4, a5, a6, a7, a8))?;
                // Only an open with `O_CREAT` can add an entry; charge it as the measurement
                // counts it (an existing file opened with `O_CREAT` is charged too, which at
                // worst measures a little early).
                if errno == ERRNO_SUCCESS && a4 & OFLAGS_CREAT != 0 {
                    charge_disk(&mut caller, ENTRY_COST, false)?;
                }
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "fd_write",
        |mut caller: Caller<'_, StoreState>, (fd, iovs, len, out): (i32, i32, i32, i32)| {
            Box::new(async move {
                let errno = stock!(caller, fd_write(fd, iovs, len, out))?;
                // Every descriptor: `fd_renumber` can put a workspace file at 0, 1 or 2.
                if caller.data().disk.is_some() {
                    let n = read_u32(&mut caller, out);
                    charge_disk(&mut caller, n, false)?;
                }
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "fd_pwrite",
        |mut caller: Caller<'_, StoreState>,
         (fd, iovs, len, offset, out): (i32, i32, i32, i64, i32)| {
            Box::new(async move {
                let errno = stock!(caller, fd_pwrite(fd, iovs, len, offset, out))?;
                if caller.data().disk.is_some() {
                    let n = read_u32(&mut caller, out);
                    // A write past the end can leave a hole: measure at once.
                    charge_disk(&mut caller, n, true)?;
                }
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "fd_allocate",
        |mut caller: Caller<'_, StoreState>, (fd, offset, len): (i32, i64, i64)| {
            Box::new(async move {
                let errno = stock!(sync caller, fd_allocate(fd, offset, len))?;
                charge_disk(&mut caller, 0, true)?;
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "fd_filestat_set_size",
        |mut caller: Caller<'_, StoreState>, (fd, size): (i32, i64)| {
            Box::new(async move {
                let errno = stock!(caller, fd_filestat_set_size(fd, size))?;
                charge_disk(&mut caller, 0, true)?;
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "path_create_directory",
        |mut caller: Caller<'_, StoreState>, (fd, p, l): (i32, i32, i32)| {
            Box::new(async move {
                let errno = stock!(caller, path_create_directory(fd, p, l))?;
                charge_entry(&mut caller, errno)?;
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "path_link",
        |mut caller: Caller<'_, StoreState>,
         (a, b, c, d, e, f, g): (i32, i32, i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let errno = stock!(caller, path_link(a, b, c, d, e, f, g))?;
                charge_entry(&mut caller, errno)?;
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap_async(
        M,
        "path_symlink",
        |mut caller: Caller<'_, StoreState>, (a, b, c, d, e): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let errno = stock!(caller, path_symlink(a, b, c, d, e))?;
                charge_entry(&mut caller, errno)?;
                Ok(errno)
            })
        },
    )?;
    linker.func_wrap(
        M,
        "proc_exit",
        |_: Caller<'_, StoreState>, status: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::new(I32Exit(status & 0xff)))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
