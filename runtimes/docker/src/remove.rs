//! Removing a container: now (async), or on a thread of its own for `Drop` paths.

use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::RemoveContainerOptionsBuilder;

use crate::bind::WorkspaceBind;
use crate::error::{DockerError, is_conflict, is_not_found};

/// How long a background removal (drop, `terminate`) may take.
const REMOVE_LIMIT: Duration = Duration::from_secs(60);

/// Force-removes `container`; a container that is already gone (or being removed) is fine.
pub(crate) async fn remove_now(docker: &Docker, container: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) if is_conflict(&e) => {
            // "removal already in progress": wait until it is gone.
            for _ in 0..200 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if let Err(e) = docker.inspect_container(container, None).await
                    && is_not_found(&e)
                {
                    return Ok(());
                }
            }
            Err(DockerError::RemoveContainer {
                container: container.to_string(),
                source: e,
            })
        }
        Err(source) => Err(DockerError::RemoveContainer {
            container: container.to_string(),
            source,
        }),
    }
}

/// Removes `container` on a thread of its own with its own small tokio runtime, so it works
/// from `Drop` in any context (inside or outside a runtime, even a current-thread one); then
/// releases the workspace's bind, if any (also when the removal failed: the lease has ended,
/// so the container is stopping anyway).
pub(crate) fn remove_on_thread(
    docker: Docker,
    container: String,
    bind: Option<WorkspaceBind>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("subrun-docker-remove".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, %container, "cannot start a runtime to remove the container");
                    drop(bind);
                    return;
                }
            };
            rt.block_on(async {
                match tokio::time::timeout(REMOVE_LIMIT, remove_now(&docker, &container)).await {
                    Ok(Ok(())) => tracing::debug!(%container, "container removed"),
                    Ok(Err(e)) => tracing::error!(error = %e, %container, "cannot remove the container; `subrun gc` removes leftovers"),
                    Err(_) => tracing::error!(%container, "removing the container timed out; `subrun gc` removes leftovers"),
                }
            });
            drop(bind);
        })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot start the removal thread");
            std::thread::spawn(|| {})
        })
}
