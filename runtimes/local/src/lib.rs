//! The `local` runtime for subrun (being implemented).
