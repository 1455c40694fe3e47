//! `subrun gc`: remove the containers subrun created and left behind, by label.

use subrun::SessionId;
use subrun_docker::{DockerRuntimeFactory, Leftover, LeftoverFilter};

use crate::error::CliError;

/// Connects to the Docker engine, removes every container labelled `subrun.session` (or only
/// those of `session`) and prints what it removed.
///
/// # Errors
/// [`CliError::Gc`] when the engine is unreachable or a removal fails.
pub(crate) async fn gc(session: Option<String>) -> Result<i32, CliError> {
    let factory = DockerRuntimeFactory::connect()
        .await
        .map_err(CliError::Gc)?;
    let filter = session.map_or_else(LeftoverFilter::all, |s| {
        LeftoverFilter::session(SessionId::new(s))
    });
    let removed = factory
        .remove_leftovers(&filter)
        .await
        .map_err(CliError::Gc)?;
    println!("{}", summary(&removed));
    for c in &removed {
        println!("  {}", describe(c));
    }
    Ok(0)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `nothing to remove` or `removed N containers: id, id`.
fn summary(removed: &[Leftover]) -> String {
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

/// One container: id, session, runtime, image, state.
fn describe(c: &Leftover) -> String {
    let mut line = format!("{} session={}", short(&c.id), c.session);
    for (key, value) in [
        ("runtime", &c.runtime),
        ("image", &c.image),
        ("state", &c.state),
    ] {
        if let Some(v) = value {
            line.push_str(&format!(" {key}={v}"));
        }
    }
    line
}
