//! A snapshot: the whole state as journal frames in a file of its own, written to a
//! temporary name and renamed, so a reader never sees half a snapshot.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::{encoding, frame};
use crate::engine::Engine;

/// What a snapshot wrote.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Written {
    pub records: u64,
    pub bytes: u64,
}

/// Writes the engine's whole state to `path`. The state is copied between changes (no
/// change runs while it is copied, into memory); the file is written after, outside that.
pub(crate) fn write_snapshot(engine: &Engine, path: &Path) -> std::io::Result<Written> {
    let mut bytes = Vec::new();
    let mut records = 0u64;
    let mut failed = None;
    engine.snapshot(|batch| {
        records += batch.len() as u64;
        match encoding::encode(batch) {
            Ok(payload) => frame::encode(&payload, &mut bytes),
            Err(e) => failed = Some(e),
        }
    });
    if let Some(e) = failed {
        return Err(std::io::Error::other(e));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    let partial = std::path::PathBuf::from(name);
    let mut file = File::create(&partial)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)?;
    Ok(Written {
        records,
        bytes: bytes.len() as u64,
    })
}
