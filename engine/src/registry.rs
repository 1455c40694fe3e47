//! The registry of runtime factories, built explicitly by the caller (no global state).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::RegistryError;
use crate::ids::RuntimeKind;
use crate::runtime::RuntimeFactory;
use crate::spec::{EnvironmentSpec, SpecError};

/// Runtime factories by name.
///
/// ```
/// # use subrun::Registry;
/// let registry = Registry::new();
/// let err = registry.get(&"wasi".into()).err().unwrap();
/// assert_eq!(err.to_string(), "unknown runtime type `wasi`: registered runtimes are none");
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<RuntimeKind, Arc<dyn RuntimeFactory>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `factory` under its [`kind`](RuntimeFactory::kind).
    ///
    /// # Errors
    /// [`RegistryError::Duplicate`] when the name is taken.
    pub fn register(&mut self, factory: Arc<dyn RuntimeFactory>) -> Result<(), RegistryError> {
        let kind = factory.kind();
        if self.factories.contains_key(&kind) {
            return Err(RegistryError::Duplicate { kind });
        }
        self.factories.insert(kind, factory);
        Ok(())
    }

    /// The factory registered under `kind`.
    ///
    /// # Errors
    /// [`RegistryError::Unknown`], listing the registered names.
    pub fn get(&self, kind: &RuntimeKind) -> Result<Arc<dyn RuntimeFactory>, RegistryError> {
        self.factories
            .get(kind)
            .cloned()
            .ok_or_else(|| RegistryError::Unknown {
                kind: kind.clone(),
                known: self.kinds(),
            })
    }

    /// The registered names, sorted.
    pub fn kinds(&self) -> Vec<RuntimeKind> {
        self.factories.keys().cloned().collect()
    }

    /// Validates `spec` against its runtime: the `type` is registered and the runtime accepts
    /// its backend section and limits.
    ///
    /// # Errors
    /// A [`SpecError`] at key `type` for an unknown runtime, or the runtime's own errors.
    pub fn validate(&self, spec: &EnvironmentSpec) -> Result<(), SpecError> {
        self.validated(spec).map(|_| ())
    }

    /// As [`validate`](Self::validate), handing back the factory that accepted the spec.
    pub(crate) fn validated(
        &self,
        spec: &EnvironmentSpec,
    ) -> Result<Arc<dyn RuntimeFactory>, SpecError> {
        let factory = self
            .get(&spec.kind)
            .map_err(|e| SpecError::new(&spec.origin, "type", e.to_string()))?;
        factory.validate(spec)?;
        Ok(factory)
    }
}
