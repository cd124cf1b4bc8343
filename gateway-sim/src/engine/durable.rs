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
use std::sync::Arc;

use parking_lot::{ReentrantMutex, RwLockReadGuard};

use super::ids::PaymentId;
use super::operations::Engine;
use super::record::{Attached, JournalSink, Pending, Record, StoredBody};

/// Held while a change is made; hands its frame to the journal when the outermost is dropped.
pub(super) struct Section<'a> {
    engine: &'a Engine,
    _quiet: RwLockReadGuard<'a, ()>,
    journal: Option<parking_lot::ReentrantMutexGuard<'a, RefCell<Pending>>>,
}

impl Engine {
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

    /// Runs `call` in one section: every change it makes, and the idempotency key whose
    /// answer it stores, are one frame of the journal. The server runs a keyed call, its
    /// rendering and the key's completion in here, so no crash can keep the charge and
    /// lose the key that a retry would replay.
    pub fn in_one_frame<T>(&self, call: impl FnOnce() -> T) -> T {
        let _section = self.section();
        call()
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
        let section = Arc::new(ReentrantMutex::new(RefCell::new(pending)));
        let attached = Attached {
            sink: sink.clone(),
            section: section.clone(),
        };
        if self.inner.durability.attached.set(attached).is_ok() {
            let merchants = sink.clone();
            self.inner.merchants.on_new(Box::new(move |id, api_key| {
                merchants.append(&[Record::Merchant {
                    id,
                    api_key: api_key.clone(),
                }]);
            }));
            let keys = sink.clone();
            self.inner.idempotency.on_completed(Box::new(
                move |merchant, key, fingerprint, created_ms, stored| {
                    let record = Record::Key {
                        merchant,
                        key: key.clone(),
                        fingerprint,
                        created_ms,
                        status: stored.status,
                        body: StoredBody::of(&stored.body),
                    };
                    // A key completed inside a section (`Engine::in_one_frame`) joins the
                    // frame of the change it answers: after a crash both come back or
                    // neither does. A key apart from its change could be lost while the
                    // change survives, and a retry with it would charge a second time.
                    if let Some(guard) = section.try_lock()
                        && guard.borrow().depth > 0
                    {
                        guard.borrow_mut().notes.push(record);
                        return;
                    }
                    keys.append(&[record]);
                },
            ));
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
                frame.push(Record::Payment(Box::new(p.clone())));
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
