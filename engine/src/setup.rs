//! Running setup commands once, in order, as their own step.

use std::future::Future;

use bytes::{Bytes, BytesMut};

use crate::error::RuntimeError;
use crate::result::RuntimeResult;

/// Runs `commands` in order through `exec`, collecting their output apart from any later
/// command's. Stops at the first command that does not exit 0.
///
/// # Errors
/// [`RuntimeError::SetupFailed`] with the failing command and all setup output so far (in
/// `setup_stdout`/`setup_stderr` of the carried result), or `exec`'s own error.
pub async fn run_setup<F, Fut>(
    commands: &[String],
    mut exec: F,
) -> Result<(Bytes, Bytes), RuntimeError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<RuntimeResult, RuntimeError>>,
{
    let mut out = BytesMut::new();
    let mut err = BytesMut::new();
    for command in commands {
        tracing::debug!(%command, "setup");
        let mut result = exec(command.clone()).await?;
        out.extend_from_slice(&result.stdout);
        err.extend_from_slice(&result.stderr);
        if !result.outcome.is_success() {
            result.setup_stdout = out.freeze();
            result.setup_stderr = err.freeze();
            return Err(RuntimeError::SetupFailed {
                command: command.clone(),
                result: Box::new(result),
            });
        }
    }
    Ok((out.freeze(), err.freeze()))
}
