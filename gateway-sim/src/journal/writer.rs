//! Group commit: changes append frames to a buffer in memory (under the engine's section,
//! so that must be quick, and it wakes nobody). The answers then see their frames written:
//!
//! - `batch` and `off`, leader and followers: the first answer to find its frames unwritten
//!   takes the file, writes everything gathered so far with one `write` (its own frames and
//!   any appended before them by other answers), and tells the others how far the file goes.
//!   Answers that arrive while it writes wait for it, then lead the next batch if theirs was
//!   not in it. No thread hand-off: a profile of the earlier design (a writer thread woken by
//!   every append) spent 12% of the request threads' time in that wake-up, inside the section.
//!   A flush thread, woken at most once per 10 ms, writes what no answer waits for (a sweep's
//!   expiries, a restored snapshot) and, with `batch`, syncs what was written.
//! - `always`: one writer thread writes and syncs each batch before its answers leave, as a
//!   sync takes milliseconds that no request thread may spend blocked.
//!
//! An answer waits (a tokio wait, outside every lock) until the journal holds everything
//! appended before it was made: its own frames and any before them.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::Duration;

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

/// How long `batch` lets written bytes wait for a sync, and the longest a frame no answer
/// waits for stays in memory.
pub(crate) const BATCH_SYNC: Duration = Duration::from_millis(10);

/// The appending side, shared by every change, and how its frames reach the file.
pub(crate) struct JournalWriter {
    shared: Arc<Shared>,
    written: watch::Receiver<u64>,
}

struct Shared {
    buffer: Mutex<Buffer>,
    policy: FsyncPolicy,
    /// The file, held by whoever writes (`batch`, `off`: an answer leading, or the flush
    /// thread); `None` with `always`, whose writer thread owns it.
    file: Option<Mutex<Leader>>,
    /// How far the file goes (bytes appended since start), for the waiting answers.
    tell: watch::Sender<u64>,
    /// `always`: wakes the writer thread when frames are appended.
    wake: Condvar,
    /// `batch`, `off`: the flush thread, and whether it has been asked to run (so it is
    /// woken once per round, not once per frame).
    flusher: OnceLock<Thread>,
    flush_due: AtomicBool,
    /// `batch`: a second handle on the file, synced by the flush thread outside the lock.
    sync_file: Option<File>,
}

/// What a writer holds: the file, and the emptied buffer of the last batch, swapped in
/// for the next so appends reuse its capacity.
struct Leader {
    file: File,
    spare: Vec<u8>,
}

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// Bytes appended since start (the position the next frame begins at).
    appended: u64,
}

impl JournalWriter {
    /// Starts writing to `file` (opened for appending, positioned at its end), with the
    /// thread `policy` needs.
    pub(crate) fn start(file: File, policy: FsyncPolicy) -> std::io::Result<Arc<JournalWriter>> {
        let (tell, written) = watch::channel(0u64);
        let sync_file = match policy {
            FsyncPolicy::Batch => Some(file.try_clone()?),
            FsyncPolicy::Always | FsyncPolicy::Off => None,
        };
        let (leader, own) = match policy {
            FsyncPolicy::Always => (None, Some(file)),
            FsyncPolicy::Batch | FsyncPolicy::Off => (
                Some(Mutex::new(Leader {
                    file,
                    spare: Vec::new(),
                })),
                None,
            ),
        };
        let shared = Arc::new(Shared {
            buffer: Mutex::default(),
            policy,
            file: leader,
            tell,
            wake: Condvar::new(),
            flusher: OnceLock::new(),
            flush_due: AtomicBool::new(false),
            sync_file,
        });
        match own {
            Some(file) => {
                let thread_shared = shared.clone();
                std::thread::Builder::new()
                    .name("journal-writer".into())
                    .spawn(move || write_loop(file, &thread_shared))?;
            }
            None => {
                let weak = Arc::downgrade(&shared);
                let flusher = std::thread::Builder::new()
                    .name("journal-flush".into())
                    .spawn(move || flush_loop(&weak))?;
                let _ = shared.flusher.set(flusher.thread().clone());
            }
        }
        Ok(Arc::new(JournalWriter { shared, written }))
    }

    /// Waits until the journal holds everything appended so far (this request's changes
    /// among them). Returns at once when nothing is outstanding.
    pub(crate) async fn written(&self) {
        let target = self.shared.buffer.lock().appended;
        // Cloned before looking: a writer that holds the file now tells after letting it go,
        // which this receiver then sees as a change.
        let mut written = self.written.clone();
        loop {
            if *written.borrow_and_update() >= target {
                return;
            }
            if let Some(leader) = &self.shared.file
                && let Some(mut leader) = leader.try_lock()
            {
                let upto = self.shared.write_gathered(&mut leader);
                drop(leader);
                self.shared.tell_written(upto);
                continue;
            }
            // Someone is writing (or, with `always`, the writer thread is): wait for its word.
            // The sender lives as long as this writer; a write failure stops the process.
            if written.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Shared {
    /// One write of everything gathered so far. Returns how far the file now goes.
    fn write_gathered(&self, leader: &mut Leader) -> u64 {
        let upto = {
            let mut buffer = self.buffer.lock();
            std::mem::swap(&mut leader.spare, &mut buffer.bytes);
            buffer.appended
        };
        if !leader.spare.is_empty() {
            if let Err(e) = leader.file.write_all(&leader.spare) {
                fail("write", &e);
            }
            leader.spare.clear();
            if self.policy == FsyncPolicy::Batch {
                self.ask_flush();
            }
        }
        upto
    }

    /// Tells the waiting answers the file goes to `upto`, unless a later writer told more.
    fn tell_written(&self, upto: u64) {
        self.tell.send_if_modified(|at| {
            let moved = upto > *at;
            if moved {
                *at = upto;
            }
            moved
        });
    }

    /// Asks the flush thread for a round within [`BATCH_SYNC`]; wakes it only if no round
    /// is asked for yet.
    fn ask_flush(&self) {
        if !self.flush_due.swap(true, Ordering::AcqRel)
            && let Some(flusher) = self.flusher.get()
        {
            flusher.unpark();
        }
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
        match self.shared.policy {
            FsyncPolicy::Always => {
                self.shared.wake.notify_one();
            }
            // Written by the answer that waits for it, or else by the next flush round.
            FsyncPolicy::Batch | FsyncPolicy::Off => self.shared.ask_flush(),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The flush thread holds only a `Weak`: woken, it finds the journal gone and ends.
        if let Some(flusher) = self.flusher.get() {
            flusher.unpark();
        }
    }
}

/// `batch`, `off`: each round, asked for by a write or an append, waits [`BATCH_SYNC`] so one
/// round serves everything of those 10 ms, then writes what no answer has written and, with
/// `batch`, syncs.
fn flush_loop(shared: &Weak<Shared>) {
    loop {
        std::thread::park();
        let Some(journal) = shared.upgrade() else {
            return;
        };
        if !journal.flush_due.load(Ordering::Acquire) {
            continue;
        }
        std::thread::sleep(BATCH_SYNC);
        // Cleared before the round: a write or append from now on asks for the next one.
        journal.flush_due.store(false, Ordering::Release);
        let Some(file) = &journal.file else {
            return;
        };
        let upto = journal.write_gathered(&mut file.lock());
        journal.tell_written(upto);
        if let Some(sync_file) = &journal.sync_file
            && let Err(e) = sync_file.sync_data()
        {
            fail("sync", &e);
        }
    }
}

/// `always`: writes and syncs whatever has gathered, then tells its answers; while it does,
/// the next batch gathers, so one `fdatasync` serves many answers.
fn write_loop(mut file: File, shared: &Shared) {
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let upto = {
            let mut buffer = shared.buffer.lock();
            while buffer.bytes.is_empty() {
                shared.wake.wait(&mut buffer);
            }
            std::mem::swap(&mut batch, &mut buffer.bytes);
            buffer.appended
        };
        if let Err(e) = file.write_all(&batch) {
            fail("write", &e);
        }
        batch.clear();
        if let Err(e) = file.sync_data() {
            fail("sync", &e);
        }
        shared.tell_written(upto);
    }
}

/// A journal that cannot be written cannot stand behind any answer: fail-stop, as a
/// database does when its log fails, rather than answer for changes a restart would lose.
fn fail(what: &str, e: &std::io::Error) -> ! {
    tracing::error!(error = %e, "cannot {what} the journal; stopping");
    eprintln!("gateway-sim: cannot {what} the journal: {e}");
    std::process::exit(70);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::AtomicU32;
    use std::time::Instant;

    use super::*;
    use crate::journal::frame::FrameReader;

    /// A fresh file in the temporary folder, removed when dropped.
    struct TempJournal(PathBuf);

    impl TempJournal {
        fn new() -> TempJournal {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            TempJournal(
                std::env::temp_dir()
                    .join(format!("gateway-sim-writer-{}-{n}.log", std::process::id())),
            )
        }

        fn open(&self, policy: FsyncPolicy) -> Arc<JournalWriter> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.0)
                .expect("a temporary file");
            JournalWriter::start(file, policy).expect("the writer starts")
        }

        fn salts(&self) -> Vec<u32> {
            salts_in(&self.0)
        }
    }

    /// The salts of the frames in the file, in order (each test frame is one salt).
    fn salts_in(path: &std::path::Path) -> Vec<u32> {
        let bytes = std::fs::read(path).unwrap_or_default();
        let mut reader = FrameReader::new(&bytes[..]);
        let mut salts = Vec::new();
        while let Some(payload) = reader.next_frame().expect("reading memory") {
            for record in encoding::decode(&payload).expect("a frame we wrote") {
                if let Record::Salt { salt } = record {
                    salts.push(salt);
                }
            }
        }
        salts
    }

    impl Drop for TempJournal {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    const POLICIES: [FsyncPolicy; 3] = [FsyncPolicy::Always, FsyncPolicy::Batch, FsyncPolicy::Off];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_finds_its_frame_in_the_file_once_written_returns() {
        for policy in POLICIES {
            let journal = TempJournal::new();
            let writer = journal.open(policy);
            writer.append(&[Record::Salt { salt: 7 }]);
            writer.written().await;
            assert_eq!(journal.salts(), [7], "{policy:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_racing_each_find_their_frames_written_in_order() {
        for policy in POLICIES {
            let journal = TempJournal::new();
            let writer = journal.open(policy);
            // One lock orders the appends, as the engine's section does.
            let order = Arc::new(Mutex::new(0u32));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (writer, order, path) = (writer.clone(), order.clone(), journal.0.clone());
                    tokio::spawn(async move {
                        for _ in 0..50 {
                            let mine = {
                                let mut next = order.lock();
                                *next += 1;
                                writer.append(&[Record::Salt { salt: *next }]);
                                *next
                            };
                            writer.written().await;
                            assert!(
                                salts_in(&path).contains(&mine),
                                "frame {mine} answered before it was written"
                            );
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("no task panics");
            }
            assert_eq!(journal.salts(), (1..=400).collect::<Vec<_>>(), "{policy:?}");
        }
    }

    #[tokio::test]
    async fn a_frame_no_answer_waits_for_is_written_by_the_flush_round() {
        for policy in [FsyncPolicy::Batch, FsyncPolicy::Off] {
            let journal = TempJournal::new();
            let writer = journal.open(policy);
            writer.append(&[Record::Salt { salt: 9 }]);
            // A bound, not a timing: the round comes within 10 ms on an idle machine.
            let deadline = Instant::now() + Duration::from_secs(10);
            while journal.salts().is_empty() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(journal.salts(), [9], "{policy:?}");
        }
    }
}
