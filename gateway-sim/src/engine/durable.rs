//! What the engine tells a journal, and how it takes the same back on start.
//!
//! The engine does no I/O: with a journal attached (`--data-dir`), every state change
//! hands the journal a frame of [`Record`]s, the *resulting* state (the payment as it
//! is after the change, the ledger entries and changes with their sequence numbers),
//! and the journal (`crate::journal`) writes it. Replaying the frames in order gives
//! back the same ids, sequence numbers and stored answers; nothing is re-executed.
//!
//! A change is one frame, so it comes back whole or not at all. Frames are handed
//! over inside a *section*: one re-entrant lock held from before the change takes
//! its payment's lock until its frame is handed over. Sequence numbers are taken
//! under it, so the journal holds the ledger and the change log in sequence order:
//! any prefix of the journal (what a crash leaves) has no gap. Without a journal a
//! section is only a shared read lock, which lets a snapshot stop the world
//! (`Engine::snapshot`) and costs the hot path one uncontended atomic.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use parking_lot::{ReentrantMutex, RwLock, RwLockReadGuard};
use serde::{Deserialize, Serialize};

use super::checkout_session::CheckoutSession;
use super::events::Change;
use super::ids::{MerchantId, PaymentId, WebhookEndpointId};
use super::ledger::Movement;
use super::payment::Payment;
use super::webhook_endpoints::WebhookEndpoint;

/// One fact of the simulator's state, as journaled and as snapshotted.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A merchant account's number and API key, written when it is first seen.
    Merchant { id: MerchantId, api_key: Arc<str> },
    /// A payment as it is after a change (later records of it replace earlier ones).
    Payment(Box<Payment>),
    /// A ledger entry with its sequence number.
    Ledger { seq: u64, movement: Movement },
    /// A change (the events' source) with its sequence number.
    Change(Box<Change>),
    /// A completed idempotency key and the answer it replays, byte for byte.
    Key {
        merchant: MerchantId,
        key: Arc<str>,
        fingerprint: u64,
        created_ms: u64,
        status: u16,
        body: StoredBody,
    },
    /// A checkout session as it is after a change.
    Checkout(Box<CheckoutSession>),
    /// A webhook endpoint as registered or updated.
    Endpoint(Box<WebhookEndpoint>),
    EndpointRemoved {
        merchant: MerchantId,
        id: WebhookEndpointId,
    },
    /// How far simulator time has been advanced beyond wall-clock time.
    Clock { advanced_ms: u64 },
    /// The salt every event id carries (new on each reset).
    Salt { salt: u32 },
    /// `POST /_sim/reset`: everything before is forgotten.
    Reset,
}

/// A stored answer's bytes: as text when they are UTF-8 (every JSON answer), so a journal
/// stays readable and half the size of a list of numbers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum StoredBody {
    Text(String),
    Bytes(Vec<u8>),
}

impl StoredBody {
    pub(crate) fn of(bytes: &[u8]) -> StoredBody {
        match std::str::from_utf8(bytes) {
            Ok(text) => StoredBody::Text(text.to_string()),
            Err(_) => StoredBody::Bytes(bytes.to_vec()),
        }
    }

    pub(crate) fn into_bytes(self) -> Box<[u8]> {
        match self {
            StoredBody::Text(text) => text.into_bytes().into_boxed_slice(),
            StoredBody::Bytes(bytes) => bytes.into_boxed_slice(),
        }
    }
}

/// Where frames go: the journal writer, outside the engine. `append` must not block on
/// I/O (it is called under the section lock); it queues the frame for the writer.
pub(crate) trait JournalSink: Send + Sync {
    fn append(&self, frame: &[Record]);
}

/// The engine's half of durability: the section lock and, once attached, the sink.
#[derive(Default)]
pub(super) struct Durability {
    /// Taken shared by every change, exclusively by a snapshot.
    quiet: RwLock<()>,
    attached: OnceLock<Attached>,
}

struct Attached {
    sink: Arc<dyn JournalSink>,
    section: ReentrantMutex<RefCell<Pending>>,
}

/// What the section being held has changed so far, and how far the journal has the
/// ledger and the change log.
#[derive(Default)]
struct Pending {
    depth: u32,
    notes: Vec<Record>,
    payments: Vec<PaymentId>,
    sessions: Vec<Arc<str>>,
    ledger_journaled: u64,
    changes_journaled: u64,
}

/// Held while a change is made; hands its frame to the journal when the outermost is dropped.
pub(super) struct Section<'a> {
    engine: &'a super::Engine,
    _quiet: RwLockReadGuard<'a, ()>,
    journal: Option<parking_lot::ReentrantMutexGuard<'a, RefCell<Pending>>>,
}

impl super::Engine {
    /// Opens a section; take it before the payment's lock (see the module doc).
    pub(super) fn section(&self) -> Section<'_> {
        let durability = &self.inner.durability;
        let quiet = durability.quiet.read_recursive();
        let journal = durability.attached.get().map(|a| {
            let guard = a.section.lock();
            guard.borrow_mut().depth += 1;
            guard
        });
        Section {
            engine: self,
            _quiet: quiet,
            journal,
        }
    }

    /// Whether a journal is attached (a section then writes a frame).
    pub(super) fn journaling(&self) -> bool {
        self.inner.durability.attached.get().is_some()
    }

    /// Notes that payment `id` changed, for the section held by this thread. A change
    /// made outside any section (a path that forgot one) is still journaled, by the
    /// next section; `try_lock` keeps such a path from waiting on another's section.
    pub(super) fn touch_payment(&self, id: PaymentId) {
        if let Some(a) = self.inner.durability.attached.get()
            && let Some(guard) = a.section.try_lock()
        {
            let mut pending = guard.borrow_mut();
            if !pending.payments.contains(&id) {
                pending.payments.push(id);
            }
        }
    }

    pub(super) fn touch_session(&self, id: &Arc<str>) {
        if let Some(a) = self.inner.durability.attached.get()
            && let Some(guard) = a.section.try_lock()
        {
            let mut pending = guard.borrow_mut();
            if !pending.sessions.contains(id) {
                pending.sessions.push(id.clone());
            }
        }
    }

    /// Attaches the journal: from now on every change is handed to `sink`. Everything
    /// the engine holds now (replayed from that journal) counts as journaled.
    pub(crate) fn attach_journal(&self, sink: Arc<dyn JournalSink>) {
        let pending = Pending {
            ledger_journaled: self.ledger_len(),
            changes_journaled: self.changes_len(),
            ..Pending::default()
        };
        let attached = Attached {
            sink: sink.clone(),
            section: ReentrantMutex::new(RefCell::new(pending)),
        };
        if self.inner.durability.attached.set(attached).is_ok() {
            self.inner.merchants.attach_journal(sink.clone());
            self.inner.idempotency.attach_journal(sink.clone());
            // The salt of this run's event ids, so they survive a restart.
            sink.append(&[Record::Salt {
                salt: self.event_salt(),
            }]);
        }
    }

    /// The moment between changes: no change runs while `visit` does.
    pub(crate) fn quiesced<T>(&self, visit: impl FnOnce() -> T) -> T {
        let _all = self.inner.durability.quiet.write();
        visit()
    }
}

impl Section<'_> {
    /// Adds a record to this section's frame (a clock move, an endpoint, a reset).
    pub(super) fn note(&self, record: Record) {
        if let Some(journal) = &self.journal {
            journal.borrow_mut().notes.push(record);
        }
    }

    /// A reset emptied the ledger and the change log: they are journaled from zero again.
    pub(super) fn restart_sequences(&self) {
        if let Some(journal) = &self.journal {
            let mut pending = journal.borrow_mut();
            pending.ledger_journaled = 0;
            pending.changes_journaled = 0;
            pending.payments.clear();
            pending.sessions.clear();
        }
    }
}

impl Drop for Section<'_> {
    fn drop(&mut self) {
        let Some(journal) = self.journal.take() else {
            return;
        };
        let taken = {
            let mut pending = journal.borrow_mut();
            pending.depth -= 1;
            if pending.depth > 0 {
                return;
            }
            let ledger_from = pending.ledger_journaled;
            let changes_from = pending.changes_journaled;
            (
                std::mem::take(&mut pending.notes),
                std::mem::take(&mut pending.payments),
                std::mem::take(&mut pending.sessions),
                ledger_from,
                changes_from,
            )
        };
        let (mut frame, payments, sessions, ledger_from, changes_from) = taken;
        let engine = self.engine;
        // The change's own locks are let go by now (a section is taken first, so it is
        // dropped last); the section itself keeps every other change out meanwhile.
        for id in payments {
            if let Some(p) = engine.shard(id).lock().get(&id) {
                frame.push(Record::Payment(p.clone()));
            }
        }
        for id in sessions {
            if let Some(s) = engine.checkout_session_by_id(&id) {
                frame.push(Record::Checkout(Box::new(s)));
            }
        }
        let ledger_to = engine.ledger_len();
        for (seq, movement) in engine.inner.ledger.range(ledger_from + 1, ledger_to) {
            frame.push(Record::Ledger { seq, movement });
        }
        let changes_to = engine.changes_len();
        for seq in changes_from + 1..=changes_to {
            if let Some(change) = engine.change_by_seq(seq) {
                frame.push(Record::Change(Box::new(change.journal_copy())));
            }
        }
        {
            let mut pending = journal.borrow_mut();
            pending.ledger_journaled = ledger_to;
            pending.changes_journaled = changes_to;
        }
        if !frame.is_empty()
            && let Some(a) = engine.inner.durability.attached.get()
        {
            a.sink.append(&frame);
        }
        drop(journal);
    }
}

/// Serde for a payment's challenge, whose `&'static str` fields (which query parameter and
/// id prefix the buyer returns with) are a handful of constants, interned back on the way in.
pub(super) mod challenge {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex, OnceLock};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::super::payment::Challenge;

    #[derive(Serialize, Deserialize)]
    struct Form {
        url: Arc<str>,
        return_url: Option<Arc<str>>,
        return_param: String,
        return_id_prefix: String,
        // Absent in journals written before challenges had attempts: the first one.
        #[serde(default = "first_attempt")]
        attempt: u32,
        #[serde(default)]
        abandon_at_ms: u64,
    }

    fn first_attempt() -> u32 {
        1
    }

    pub fn serialize<S: Serializer>(
        value: &Option<Box<Challenge>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_deref()
            .map(|c| Form {
                url: c.url.clone(),
                return_url: c.return_url.clone(),
                return_param: c.return_param.to_string(),
                return_id_prefix: c.return_id_prefix.to_string(),
                attempt: c.attempt,
                abandon_at_ms: c.abandon_at_ms,
            })
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Box<Challenge>>, D::Error> {
        let Some(form) = Option::<Form>::deserialize(d)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(Challenge {
            url: form.url,
            return_url: form.return_url,
            return_param: intern(form.return_param).map_err(serde::de::Error::custom)?,
            return_id_prefix: intern(form.return_id_prefix).map_err(serde::de::Error::custom)?,
            attempt: form.attempt,
            abandon_at_ms: form.abandon_at_ms,
        })))
    }

    fn intern(text: String) -> Result<&'static str, &'static str> {
        /// Past this many distinct values the journal is not ours; refuse it rather
        /// than grow without bound.
        const MAX: usize = 64;
        static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut seen = SEEN
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(known) = seen.get(text.as_str()) {
            return Ok(known);
        }
        if seen.len() >= MAX {
            return Err("too many distinct return parameters");
        }
        let leaked: &'static str = Box::leak(text.into_boxed_str());
        seen.insert(leaked);
        Ok(leaked)
    }
}
