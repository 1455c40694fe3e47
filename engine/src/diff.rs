//! Workspace diffs (stub, being implemented).
