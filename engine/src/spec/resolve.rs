//! The resolved spec: assets located on disk and `{{static:NAME}}` rendered for one runtime.

use std::collections::BTreeMap;

use super::{EnvironmentSpec, SpecError, SpecIssue};
use crate::assets::ResolvedAsset;
use crate::placeholder::{self, PlaceholderError};

/// A spec ready for one runtime: every string has its placeholders rendered to the paths that
/// runtime shows assets at, and the assets are resolved to host paths.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedSpec {
    /// The spec with placeholders rendered in every string.
    pub spec: EnvironmentSpec,
    /// The assets, merged by group ordering and resolved to host paths.
    pub assets: Vec<ResolvedAsset>,
    /// Asset name -> the path the runtime shows it at (what a placeholder renders to).
    pub asset_paths: BTreeMap<String, String>,
}

impl ResolvedSpec {
    /// Renders `spec` with `asset_path(asset)` as the path of each asset.
    ///
    /// # Errors
    /// A [`SpecError`] naming every key that holds an unknown or malformed placeholder.
    pub fn resolve(
        spec: &EnvironmentSpec,
        assets: Vec<ResolvedAsset>,
        asset_path: &dyn Fn(&ResolvedAsset) -> String,
    ) -> Result<Self, SpecError> {
        let asset_paths: BTreeMap<String, String> = assets
            .iter()
            .map(|a| (a.name.clone(), asset_path(a)))
            .collect();
        let known: Vec<String> = asset_paths.keys().cloned().collect();
        let issues: Vec<SpecIssue> = spec.placeholder_issues(&known);
        if !issues.is_empty() {
            return Err(SpecError::from_issues(&spec.origin, issues));
        }
        let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
        let lookup = |name: &str| asset_paths.get(name).cloned();
        let mut doc = spec.to_value();
        // The type key is not a placeholder target; render everything else.
        doc = placeholder::render_value(&doc, &lookup, &known_refs)
            .map_err(|e| SpecError::new(&spec.origin, "", e.to_string()))?;
        let rendered = EnvironmentSpec::from_value(doc, &spec.origin, spec.base_dir.clone())?;
        Ok(Self {
            spec: rendered,
            assets,
            asset_paths,
        })
    }

    /// Renders placeholders in `text` (a command, an argument, an env value) for this runtime.
    ///
    /// # Errors
    /// An unknown or malformed placeholder.
    pub fn render(&self, text: &str) -> Result<String, PlaceholderError> {
        let known: Vec<&str> = self.asset_paths.keys().map(String::as_str).collect();
        placeholder::render(text, |n| self.asset_paths.get(n).cloned(), &known)
    }
}
