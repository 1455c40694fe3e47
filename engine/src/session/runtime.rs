//! The runtime handle a session gives out: placeholders rendered, then delegated.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::RuntimeError;
use crate::execution::Execution;
use crate::ids::{RuntimeId, RuntimeKind};
use crate::request::ExecRequest;
use crate::result::{Outcome, RuntimeResult};
use crate::runtime::{Capabilities, RuntimeState, SubmissionRuntime};
use crate::spec::ResolvedSpec;

/// Wraps a spawned runtime so `{{static:NAME}}` in a request's command and env values is
/// rendered to the path the runtime shows the asset at.
pub(crate) struct SessionRuntime {
    inner: Arc<dyn SubmissionRuntime>,
    spec: Arc<ResolvedSpec>,
}

impl SessionRuntime {
    pub(crate) fn new(inner: Arc<dyn SubmissionRuntime>, spec: Arc<ResolvedSpec>) -> Self {
        Self { inner, spec }
    }

    fn render(&self, mut request: ExecRequest) -> Result<ExecRequest, RuntimeError> {
        request.command = self.spec.render(&request.command)?;
        for value in request.env.values_mut() {
            *value = self.spec.render(value)?;
        }
        Ok(request)
    }
}

#[async_trait]
impl SubmissionRuntime for SessionRuntime {
    fn id(&self) -> &RuntimeId {
        self.inner.id()
    }

    fn kind(&self) -> RuntimeKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn stream(&self, request: ExecRequest) -> Result<Execution, RuntimeError> {
        let request = self.render(request)?;
        self.inner.stream(request).await
    }

    async fn execute(&self, request: ExecRequest) -> Result<RuntimeResult, RuntimeError> {
        let request = self.render(request)?;
        self.inner.execute(request).await
    }

    fn poll(&self) -> Result<Option<Outcome>, RuntimeError> {
        self.inner.poll()
    }

    fn state(&self) -> RuntimeState {
        self.inner.state()
    }

    async fn kill(&self) -> Result<(), RuntimeError> {
        self.inner.kill().await
    }

    async fn cleanup(&self) -> Result<(), RuntimeError> {
        self.inner.cleanup().await
    }

    fn terminate(&self) {
        self.inner.terminate();
    }
}
