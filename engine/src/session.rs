//! Sessions (stub, being implemented).
