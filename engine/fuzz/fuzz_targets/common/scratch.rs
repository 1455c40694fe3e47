//! What the workspace fuzz targets share.

/// A temporary directory, in memory (`/dev/shm`) where there is one: creating and removing
/// files there costs microseconds instead of a journaled disk's milliseconds.
pub(crate) fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("subrun-fuzz-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::Builder::new()
        .prefix("subrun-fuzz-")
        .tempdir()
        .expect("temp dir")
}
