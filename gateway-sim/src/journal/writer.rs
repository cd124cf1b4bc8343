//! Group commit: changes append frames to a buffer in memory (under the engine's section,
//! so that must be quick); one writer thread writes whatever has gathered with one `write`,
//! syncs it as `--fsync` says, and tells the waiting answers how far the file goes. While
//! it writes and syncs, the next batch gathers, so one `fdatasync` serves many answers.
//!
//! An answer waits (a tokio wait, outside every lock) until the journal holds everything
//! appended before it was made: its own frames and any before them.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use super::{encoding, frame};
use crate::engine::{JournalSink, Record};

/// When the journal is synced to the disk (`--fsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// Every batch is written and synced before its answers leave: survives power loss.
    Always,
    /// Answers leave once their batch is written to the operating system (which survives
    /// the process being killed); the file is synced at least every 10 ms, so a power loss
    /// loses at most the last 10 ms.
    #[default]
    Batch,
    /// Written before the answers leave, synced when the operating system pleases.
    Off,
}

/// How long `batch` lets written bytes wait for a sync.
pub(crate) const BATCH_SYNC: Duration = Duration::from_millis(10);

/// The appending side, shared by every change, and the writer thread's handle on it.
pub(crate) struct JournalWriter {
    shared: Arc<Shared>,
    written: watch::Receiver<u64>,
}

struct Shared {
    buffer: Mutex<Buffer>,
    wake: Condvar,
}

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// Bytes appended since start (the position the next frame begins at).
    appended: u64,
}

impl JournalWriter {
    /// Starts the writer thread on `file` (opened for appending, positioned at its end).
    pub(crate) fn start(file: File, policy: FsyncPolicy) -> std::io::Result<Arc<JournalWriter>> {
        let shared = Arc::new(Shared {
            buffer: Mutex::default(),
            wake: Condvar::new(),
        });
        let (tell, written) = watch::channel(0u64);
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || write_loop(file, policy, &thread_shared, &tell))?;
        Ok(Arc::new(JournalWriter { shared, written }))
    }

    /// Waits until the journal holds everything appended so far (this request's changes
    /// among them). Returns at once when nothing is outstanding.
    pub(crate) async fn written(&self) {
        let target = self.shared.buffer.lock().appended;
        let mut written = self.written.clone();
        if *written.borrow() >= target {
            return;
        }
        // The sender lives as long as the writer thread, which never ends while the
        // process runs (a write failure stops the process, see `write_loop`).
        let _ = written.wait_for(|at| *at >= target).await;
    }
}

impl JournalSink for JournalWriter {
    fn append(&self, records: &[Record]) {
        // Encoded before the buffer's lock: only the copy is made under it.
        let payload = match encoding::encode(records) {
            Ok(payload) => payload,
            Err(e) => {
                // Our own types always serialize; if one ever did not, the change would
                // be lost on restart: stop rather than answer for what is not durable.
                tracing::error!(error = %e, "cannot encode a journal frame; stopping");
                std::process::exit(70);
            }
        };
        let mut buffer = self.shared.buffer.lock();
        let before = buffer.bytes.len();
        frame::encode(&payload, &mut buffer.bytes);
        buffer.appended += (buffer.bytes.len() - before) as u64;
        drop(buffer);
        self.shared.wake.notify_one();
    }
}

fn write_loop(mut file: File, policy: FsyncPolicy, shared: &Shared, tell: &watch::Sender<u64>) {
    let mut batch: Vec<u8> = Vec::new();
    let mut synced_at = Instant::now();
    let mut unsynced = false;
    loop {
        let upto = {
            let mut buffer = shared.buffer.lock();
            while buffer.bytes.is_empty() {
                if unsynced {
                    let left = BATCH_SYNC.saturating_sub(synced_at.elapsed());
                    if shared.wake.wait_for(&mut buffer, left).timed_out() {
                        break;
                    }
                } else {
                    shared.wake.wait(&mut buffer);
                }
            }
            std::mem::swap(&mut batch, &mut buffer.bytes);
            buffer.appended
        };
        if !batch.is_empty() {
            if let Err(e) = file.write_all(&batch) {
                fail("write", &e);
            }
            batch.clear();
            unsynced = policy != FsyncPolicy::Off;
        }
        let sync_now = match policy {
            FsyncPolicy::Always => unsynced,
            FsyncPolicy::Batch => unsynced && synced_at.elapsed() >= BATCH_SYNC,
            FsyncPolicy::Off => false,
        };
        if sync_now {
            if let Err(e) = file.sync_data() {
                fail("sync", &e);
            }
            synced_at = Instant::now();
            unsynced = false;
        }
        tell.send_replace(upto);
    }
}

/// A journal that cannot be written cannot stand behind any answer: fail-stop, as a
/// database does when its log fails, rather than answer for changes a restart would lose.
fn fail(what: &str, e: &std::io::Error) -> ! {
    tracing::error!(error = %e, "cannot {what} the journal; stopping");
    eprintln!("gateway-sim: cannot {what} the journal: {e}");
    std::process::exit(70);
}
