//! Leftover containers: every container subrun creates carries a `subrun.session` label, so
//! the ones a crashed process left behind can be listed and removed (`subrun gc`).

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use serde::Serialize;
use subrun::RuntimeError;
use subrun::ids::SessionId;

use crate::container::{LABEL_RUNTIME, LABEL_SESSION};
use crate::error::DockerError;
use crate::remove::remove_now;

/// Which leftover containers to consider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeftoverFilter {
    session: Option<SessionId>,
}

impl LeftoverFilter {
    /// Every container with a `subrun.session` label.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only the containers of one session.
    pub fn session(id: SessionId) -> Self {
        Self { session: Some(id) }
    }

    /// The one session this filter selects, if any.
    pub(crate) fn session_id(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    fn label(&self) -> String {
        match &self.session {
            Some(id) => format!("{LABEL_SESSION}={id}"),
            None => LABEL_SESSION.to_string(),
        }
    }
}

/// A container subrun created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LeftoverContainer {
    /// The container id.
    pub id: String,
    /// Its `subrun.session` label.
    pub session: String,
    /// Its `subrun.runtime` label, when set.
    pub runtime: Option<String>,
    /// The image it runs.
    pub image: Option<String>,
    /// The engine's state (`running`, `exited`...).
    pub state: Option<String>,
}

/// Lists the containers matching `filter`.
pub(crate) async fn list(
    docker: &Docker,
    filter: &LeftoverFilter,
) -> Result<Vec<LeftoverContainer>, RuntimeError> {
    let filters = HashMap::from([("label".to_string(), vec![filter.label()])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|source| {
            DockerError::ListContainers { source }.during("list leftover containers")
        })?;
    Ok(containers
        .into_iter()
        .filter_map(|c| {
            let labels = c.labels.unwrap_or_default();
            Some(LeftoverContainer {
                id: c.id?,
                session: labels.get(LABEL_SESSION)?.clone(),
                runtime: labels.get(LABEL_RUNTIME).cloned(),
                image: c.image,
                state: c.state.map(|s| s.to_string()),
            })
        })
        .collect())
}

/// Removes the containers matching `filter`; returns what it removed.
pub(crate) async fn remove(
    docker: &Docker,
    filter: &LeftoverFilter,
) -> Result<Vec<LeftoverContainer>, RuntimeError> {
    let mut removed = Vec::new();
    for c in list(docker, filter).await? {
        remove_now(docker, &c.id)
            .await
            .map_err(|e| e.during("remove leftover containers"))?;
        tracing::info!(container = %c.id, session = %c.session, "removed leftover container");
        removed.push(c);
    }
    Ok(removed)
}
