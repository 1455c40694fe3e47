//! `subrun gc`: remove what runs whose owner died left behind: their private temporary
//! directories (workspaces, static roots; see `subrun::tempdirs`) and, by label, their
//! containers.

use subrun::ids::SessionId;
use subrun_docker::{DockerRuntimeFactory, LeftoverContainer, LeftoverFilter};

use crate::error::CliError;

/// Releases the workspace binds and removes the temporary directories of dead owners (those
/// are never in use, whatever `session` says), prunes the compiled-module cache (unless
/// `session` narrows the call to one session's containers), then connects to the Docker engine, removes every container
/// labelled `subrun.session` (or only those of `session`) and prints what it removed.
///
/// # Errors
/// [`CliError::GcDirs`] when the temporary directory cannot be listed or an entry of a dead
/// run cannot be removed (reported after the containers); [`CliError::Gc`] when the engine is
/// unreachable or a container removal fails.
pub(crate) async fn gc(session: Option<String>) -> Result<i32, CliError> {
    let filter = session.as_deref().map_or_else(LeftoverFilter::all, |s| {
        LeftoverFilter::session(SessionId::new(s))
    });
    // Containers first, so no command of a dead run still runs when its workspace's nosuid
    // bind is released (an unreachable engine is reported after the directories).
    let containers = match DockerRuntimeFactory::connect().await {
        Ok(factory) => factory.remove_leftovers(&filter).await,
        Err(e) => Err(e),
    };
    // A dead owner's workspace may still be bound nosuid onto itself (docker as root):
    // released before its directory is removed. Neither needs the engine.
    let _released = subrun_docker::release_stale_binds(&LeftoverFilter::all());
    let dirs = remove_dead_dirs().and(if session.is_none() {
        prune_module_cache()
    } else {
        Ok(())
    });
    let removed = containers.map_err(CliError::Gc)?;
    println!("{}", summary(&removed));
    for c in &removed {
        println!("  {}", describe(c));
    }
    dirs.map(|()| 0)
}

/// Prunes the default compiled-module cache to its bound (`WasiEngineConfig::max_cache_bytes`),
/// least recently used artifacts first.
fn prune_module_cache() -> Result<(), CliError> {
    let Some(dir) = subrun_wasi::default_cache_dir() else {
        return Ok(());
    };
    let max = subrun_wasi::WasiEngineConfig::default().max_cache_bytes;
    let s = subrun_wasi::prune_cache(&dir, max).map_err(|source| CliError::GcDirs {
        path: dir.clone(),
        source,
    })?;
    println!(
        "compiled-module cache {}: removed {} artifact{} ({} bytes), kept {} ({} bytes; bound {max})",
        subrun::terminal::escape(&dir.display().to_string()),
        s.removed,
        if s.removed == 1 { "" } else { "s" },
        s.removed_bytes,
        s.kept,
        s.kept_bytes,
    );
    Ok(())
}

/// Removes the private directories of dead owners under the temporary directory, printing
/// each (nothing when there were none); the first failure is returned once every other entry
/// was tried.
fn remove_dead_dirs() -> Result<(), CliError> {
    let root = std::env::temp_dir();
    let found = subrun::tempdirs::remove_dead(Some(&root)).map_err(|source| CliError::GcDirs {
        path: root.clone(),
        source,
    })?;
    let mut first_error = None;
    let mut removed = Vec::new();
    for (leftover, result) in found {
        match result {
            Ok(()) => removed.push(leftover),
            Err(source) => {
                first_error.get_or_insert(CliError::GcDirs {
                    path: leftover.path,
                    source,
                });
            }
        }
    }
    if !removed.is_empty() {
        let n = removed.len();
        println!(
            "removed {n} director{} of dead runs:",
            if n == 1 { "y" } else { "ies" }
        );
    }
    for l in &removed {
        println!(
            "  {} pid={}",
            subrun::terminal::escape(&l.path.display().to_string()),
            l.pid
        );
    }
    first_error.map_or(Ok(()), Err)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `nothing to remove` or `removed N containers: id, id`.
fn summary(removed: &[LeftoverContainer]) -> String {
    match removed.len() {
        0 => "nothing to remove".to_string(),
        n => format!(
            "removed {n} container{}: {}",
            if n == 1 { "" } else { "s" },
            removed
                .iter()
                .map(|c| short(&c.id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// One container: id, session, runtime, image, state (labels anyone with the engine's socket
/// can set: escaped).
fn describe(c: &LeftoverContainer) -> String {
    let shown = |v: &str| subrun::terminal::escape(v).into_owned();
    let mut line = format!("{} session={}", short(&c.id), shown(&c.session));
    for (key, value) in [
        ("runtime", &c.runtime),
        ("image", &c.image),
        ("state", &c.state),
    ] {
        if let Some(v) = value {
            line.push_str(&format!(" {key}={}", shown(v)));
        }
    }
    line
}
