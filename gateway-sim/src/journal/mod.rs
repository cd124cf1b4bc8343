//! Durability (`--data-dir`, `--fsync`, `--restore`): an append-only journal of the
//! engine's changes, replayed on start, and snapshots of the whole state.
//!
//! - `encoding.rs`: a frame's records as bytes (MessagePack; JSON from older files).
//! - `frame.rs`: the bytes of one frame (length, CRC-32, payload) and reading them back,
//!   stopping at a torn last frame.
//! - `writer.rs`: group commit: the buffer changes append to, the writer thread, the
//!   `--fsync` policy, and the wait an answer makes for its frames.
//! - `replay.rs`: a journal or snapshot file taken back into the engine.
//! - `snapshot.rs`: the whole state written to a file, atomically.
//!
//! What a frame holds, and why the journal has the ledger in sequence order, is the
//! engine's business (`engine/durable.rs`); this module only moves bytes.
//!
//! Why a plain file rather than an embedded store (redb, fjall): every change is one
//! append of a few hundred bytes and nothing is ever read back but at start, in order;
//! a store would add its own log and index to the same append, and replay needs none.

mod encoding;
mod frame;
mod replay;
mod snapshot;
mod writer;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::engine::Engine;

pub use replay::Replayed;
pub(crate) use snapshot::write_snapshot;
pub use writer::FsyncPolicy;
pub(crate) use writer::JournalWriter;

/// The journal's file name inside `--data-dir`.
pub const JOURNAL_FILE: &str = "journal.log";
/// Where `POST /_sim/snapshot` writes without a `path`: this folder inside `--data-dir`.
pub const SNAPSHOT_DIR: &str = "snapshots";

/// How durable a simulator is: the command line's `--data-dir`, `--fsync` and `--restore`.
#[derive(Debug, Clone, Default)]
pub struct Durability {
    /// Keep the journal here; `None`: memory only, as before.
    pub data_dir: Option<PathBuf>,
    pub fsync: FsyncPolicy,
    /// Start from this snapshot (with `data_dir`, only into an empty journal).
    pub restore: Option<PathBuf>,
}

/// The open journal, with what starting it found.
pub(crate) struct Journal {
    pub(crate) writer: Arc<JournalWriter>,
    pub(crate) data_dir: PathBuf,
}

/// Brings `engine` (fresh) to the state `durability` names and attaches the journal.
/// `Ok(None)` without a data directory (after restoring a snapshot, if one was given).
pub(crate) fn open(engine: &Engine, durability: &Durability) -> anyhow::Result<Option<Journal>> {
    let restored = match &durability.restore {
        Some(path) => {
            let found = replay::replay_file(engine, path, false)
                .with_context(|| format!("cannot restore {}", path.display()))?;
            if found.dropped_bytes > 0 {
                anyhow::bail!(
                    "cannot restore {}: it ends in a torn frame ({} bytes); it is not a whole snapshot",
                    path.display(),
                    found.dropped_bytes
                );
            }
            tracing::info!(path = %path.display(), records = found.records, "restored snapshot");
            true
        }
        None => false,
    };
    let Some(dir) = &durability.data_dir else {
        engine.finish_restore();
        return Ok(None);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(JOURNAL_FILE);
    let existing = path.metadata().map(|m| m.len()).unwrap_or(0);
    if restored && existing > 0 {
        anyhow::bail!(
            "--restore starts a gateway from a snapshot, but {} already holds a journal; \
             give an empty --data-dir (or leave out --restore to continue from the journal)",
            path.display()
        );
    }
    if existing > 0 {
        let found = replay::replay_file(engine, &path, true)?;
        if found.dropped_bytes > 0 {
            tracing::warn!(
                dropped_bytes = found.dropped_bytes,
                "the journal ended in a torn frame (a crash mid-write); it was dropped"
            );
        }
        tracing::info!(path = %path.display(), frames = found.frames, records = found.records, "replayed journal");
    }
    engine.finish_restore();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let writer = JournalWriter::start(file, durability.fsync)?;
    engine.attach_journal(writer.clone());
    if restored {
        // The journal starts from the snapshot, so a restart comes back to it too.
        engine.snapshot(|batch| crate::engine::JournalSink::append(&*writer, batch));
    }
    Ok(Some(Journal {
        writer,
        data_dir: dir.clone(),
    }))
}

/// Replays `path` into `engine` as start-up would (tests and tools).
pub fn replay_into(engine: &Engine, path: &Path) -> anyhow::Result<Replayed> {
    let found = replay::replay_file(engine, path, false)?;
    engine.finish_restore();
    Ok(found)
}
