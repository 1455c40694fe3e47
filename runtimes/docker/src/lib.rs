//! The `docker` runtime for subrun (being implemented).
