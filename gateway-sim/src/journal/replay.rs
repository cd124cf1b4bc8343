//! Start-up: the journal's frames (or a snapshot's) taken back into the engine in order.
//! A torn last frame is dropped and cut off the file, so new frames follow intact ones.

use std::fs::{File, OpenOptions};
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;

use super::encoding;
use super::frame::FrameReader;
use crate::engine::Engine;

/// What a replay found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    pub frames: u64,
    pub records: u64,
    /// Bytes of intact frames: where the next frame goes.
    pub intact_bytes: u64,
    /// Bytes of a torn last frame dropped (0 when the file ended cleanly).
    pub dropped_bytes: u64,
}

/// Takes every intact frame of `path` back into `engine` (which should be fresh); with
/// `cut_torn_tail`, a torn last frame is also cut off the file.
pub(crate) fn replay_file(
    engine: &Engine,
    path: &Path,
    cut_torn_tail: bool,
) -> anyhow::Result<Replayed> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata()?.len();
    let mut reader = FrameReader::new(BufReader::with_capacity(1 << 20, file));
    let mut replayed = Replayed::default();
    while let Some(payload) = reader
        .next_frame()
        .with_context(|| format!("cannot read {}", path.display()))?
    {
        let records = encoding::decode(&payload).with_context(|| {
            format!(
                "{}: frame {} (at byte {}) is intact but not a journal frame of this version",
                path.display(),
                replayed.frames + 1,
                reader.intact - payload.len() as u64 - 8
            )
        })?;
        replayed.records += records.len() as u64;
        for record in records {
            engine
                .restore(record)
                .with_context(|| format!("{}: frame {}", path.display(), replayed.frames + 1))?;
        }
        replayed.frames += 1;
    }
    replayed.intact_bytes = reader.intact;
    replayed.dropped_bytes = len - reader.intact;
    if reader.torn && cut_torn_tail {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(reader.intact)
            .with_context(|| format!("cannot cut the torn tail off {}", path.display()))?;
        file.sync_all()?;
    }
    Ok(replayed)
}
