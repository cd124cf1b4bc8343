//! Idempotency keys, enforced as strictly as the strictest real gateways.
//!
//! A key is scoped to one merchant. Its life: `claim` reserves it atomically
//! (in flight), the request runs, `Reservation::complete` stores the response.
//! A same-key request then gets the stored response replayed byte for byte; a
//! same-key request with a different body is refused; a same-key request while
//! the first still runs is refused as "in use". A reservation dropped without
//! completing (validation failure, injected fault before processing, panic)
//! frees the key, so nothing is stored for a request that did nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::ids::MerchantId;
use super::shard::{room_for_churn, shard_hash};
use super::shared_str::SharedStr;

const SHARDS: usize = 64;

/// The response stored under a completed key, replayed as is. The body is
/// opaque here: front doors may keep it compacted (see `api::compact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Box<[u8]>,
}

/// What the gateway knows of a key (`GET /v1/idempotency-keys/{key}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    InFlight,
    Completed(StoredResponse),
}

/// The answer to a claim on a key.
#[derive(Debug)]
pub enum Claim {
    /// First use: run the request, then complete the reservation.
    Proceed(Reservation),
    /// Seen before with the same request: answer this, run nothing.
    Replay(StoredResponse),
    /// Seen before with a different request: refuse, run nothing.
    Mismatch,
    /// The first request with this key is still running: refuse, run nothing.
    InUse,
}

/// One key, boxed in its shard's table: the table's slots are then 8-byte pointers, and
/// at a million keys about half of them are empty (a table doubles when 7/8 full). Its
/// stored answer is spread over `status` and `body` rather than a [`KeyState`], so the
/// record fits the allocator's 64-byte size class.
#[derive(Debug)]
struct KeyRecord {
    merchant: MerchantId,
    /// The stored answer's status, once `body` is set.
    status: u16,
    /// Hash of method, path and body: what "the same request" means.
    fingerprint: u64,
    /// Simulator time the key was first used; keys expire `ttl` after it.
    created_ms: u64,
    key: SharedStr,
    /// The stored answer's body; `None` while the first request with the key runs.
    body: Option<Box<[u8]>>,
}

impl KeyRecord {
    fn is(&self, merchant: MerchantId, key: &str) -> bool {
        self.merchant == merchant && *self.key == *key
    }

    fn stored(&self) -> Option<StoredResponse> {
        self.body.as_ref().map(|body| StoredResponse {
            status: self.status,
            body: body.clone(),
        })
    }

    fn state(&self) -> KeyState {
        self.stored()
            .map_or(KeyState::InFlight, KeyState::Completed)
    }
}

/// One shard: every merchant's keys that hash to it.
type Shard = hashbrown::HashTable<Box<KeyRecord>>;

/// The hash a key is found by in its shard's table. Not `shard_hash`, which picked the
/// shard: within one shard its low bits are all alike, and the table indexes by them.
fn key_hash(merchant: MerchantId, key: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6b65_7973).hash_one((merchant, key))
}

#[derive(Debug, Default)]
pub struct IdempotencyCounters {
    pub replays: AtomicU64,
    pub mismatches: AtomicU64,
    pub in_use: AtomicU64,
}

pub(crate) struct IdempotencyStore {
    shards: Box<[Mutex<Shard>]>,
    ttl_ms: u64,
    pub(crate) counters: IdempotencyCounters,
    /// With `--data-dir`: told of each completed key and its answer (the journal).
    on_completed: std::sync::OnceLock<OnCompleted>,
}

impl IdempotencyStore {
    pub(crate) fn new(ttl_ms: u64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            ttl_ms,
            counters: IdempotencyCounters::default(),
            on_completed: std::sync::OnceLock::new(),
        }
    }

    fn shard(&self, merchant: MerchantId, key: &str) -> &Mutex<Shard> {
        &self.shards[(shard_hash((merchant, key)) as usize) & (SHARDS - 1)]
    }

    fn expired(&self, record: &KeyRecord, now_ms: u64) -> bool {
        // An in-flight key never expires: its request is still running.
        record.body.is_some() && now_ms.saturating_sub(record.created_ms) >= self.ttl_ms
    }

    /// Atomically reserves `key` for this request, or says why it cannot run.
    pub(crate) fn claim(
        self: &Arc<Self>,
        merchant: MerchantId,
        key: &str,
        fingerprint: u64,
        now_ms: u64,
    ) -> Claim {
        let mut shard = self.shard(merchant, key).lock();
        let hash = key_hash(merchant, key);
        if let Some(record) = shard.find(hash, |r| r.is(merchant, key))
            && !self.expired(record, now_ms)
        {
            return if record.fingerprint != fingerprint {
                self.counters.mismatches.fetch_add(1, Ordering::Relaxed);
                Claim::Mismatch
            } else if let Some(stored) = record.stored() {
                self.counters.replays.fetch_add(1, Ordering::Relaxed);
                Claim::Replay(stored)
            } else {
                self.counters.in_use.fetch_add(1, Ordering::Relaxed);
                Claim::InUse
            };
        }
        let key = SharedStr::from(key);
        // A new key, or one past its TTL: a fresh key, whatever it stored.
        put(
            &mut shard,
            hash,
            KeyRecord {
                merchant,
                status: 0,
                fingerprint,
                created_ms: now_ms,
                key: key.clone(),
                body: None,
            },
        );
        Claim::Proceed(Reservation {
            store: Arc::clone(self),
            merchant,
            key,
            done: false,
        })
    }

    pub(crate) fn lookup(&self, merchant: MerchantId, key: &str, now_ms: u64) -> Option<KeyState> {
        let shard = self.shard(merchant, key).lock();
        let record = shard.find(key_hash(merchant, key), |r| r.is(merchant, key))?;
        (!self.expired(record, now_ms)).then(|| record.state())
    }

    /// Drops every completed key older than the TTL (called when the clock jumps).
    pub(crate) fn sweep(&self, now_ms: u64) {
        for shard in self.shards.iter() {
            shard.lock().retain(|r| !self.expired(r, now_ms));
        }
    }

    /// Every shard at most half full (see `shard::room_for_churn`): with `--retain`, keys
    /// expire as fast as they come.
    pub(crate) fn keep_room_for_churn(&self) {
        let slot = std::mem::size_of::<Box<KeyRecord>>();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            if let Some(more) = room_for_churn(shard.len(), shard.allocation_size(), slot) {
                shard.reserve(more, |r| key_hash(r.merchant, &r.key));
            }
        }
    }

    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            shard.lock().clear();
        }
        self.counters.replays.store(0, Ordering::Relaxed);
        self.counters.mismatches.store(0, Ordering::Relaxed);
        self.counters.in_use.store(0, Ordering::Relaxed);
    }

    pub(crate) fn on_completed(&self, tell: OnCompleted) {
        let _ = self.on_completed.set(tell);
    }

    /// Replay: a completed key with its stored answer.
    pub(crate) fn restore(
        &self,
        merchant: MerchantId,
        key: SharedStr,
        fingerprint: u64,
        created_ms: u64,
        response: StoredResponse,
    ) {
        let mut shard = self.shard(merchant, &key).lock();
        let hash = key_hash(merchant, &key);
        put(
            &mut shard,
            hash,
            KeyRecord {
                merchant,
                status: response.status,
                fingerprint,
                created_ms,
                key,
                body: Some(response.body),
            },
        );
    }

    /// Every completed key as a journal record (for a snapshot); keys in flight are not
    /// state yet.
    pub(crate) fn completed(
        &self,
        mut visit: impl FnMut(MerchantId, &SharedStr, u64, u64, &StoredResponse),
    ) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for record in shard.iter() {
                if let Some(stored) = record.stored() {
                    visit(
                        record.merchant,
                        &record.key,
                        record.fingerprint,
                        record.created_ms,
                        &stored,
                    );
                }
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }
}

/// Stores `record` in its shard, replacing the record of the same key if there is one.
fn put(shard: &mut Shard, hash: u64, record: KeyRecord) {
    let entry = shard.entry(
        hash,
        |r| r.is(record.merchant, &record.key),
        |r| key_hash(r.merchant, &r.key),
    );
    match entry {
        hashbrown::hash_table::Entry::Occupied(mut held) => **held.get_mut() = record,
        hashbrown::hash_table::Entry::Vacant(slot) => {
            slot.insert(Box::new(record));
        }
    }
}

/// A key held in flight by one request. Complete it with the response, or drop
/// it to free the key as if the request had never come.
#[derive(Debug)]
pub struct Reservation {
    store: Arc<IdempotencyStore>,
    merchant: MerchantId,
    key: SharedStr,
    done: bool,
}

impl Reservation {
    pub fn key(&self) -> &SharedStr {
        &self.key
    }

    /// Stores the response under the key; later same-key requests replay it.
    pub fn complete(mut self, response: StoredResponse) {
        let mut shard = self.store.shard(self.merchant, &self.key).lock();
        let (merchant, key) = (self.merchant, &*self.key);
        if let Some(record) = shard.find_mut(key_hash(merchant, key), |r| r.is(merchant, key)) {
            // Journaled under the key's lock, so a later record of the same key (after its
            // expiry) always follows this one.
            if let Some(tell) = self.store.on_completed.get() {
                tell(
                    self.merchant,
                    &self.key,
                    record.fingerprint,
                    record.created_ms,
                    &response,
                );
            }
            record.status = response.status;
            record.body = Some(response.body);
        }
        self.done = true;
    }
}

/// Told of a completed key: merchant, key, fingerprint, when it was claimed, its answer.
pub(crate) type OnCompleted =
    Box<dyn Fn(MerchantId, &SharedStr, u64, u64, &StoredResponse) + Send + Sync>;

impl std::fmt::Debug for IdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyStore")
            .field("ttl_ms", &self.ttl_ms)
            .finish()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut shard = self.store.shard(self.merchant, &self.key).lock();
        let (merchant, key) = (self.merchant, &*self.key);
        // Only our own in-flight record: a reset may have cleared it and a new request
        // may own the key by now.
        if let Ok(held) = shard.find_entry(key_hash(merchant, key), |r| r.is(merchant, key))
            && held.get().body.is_none()
        {
            held.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: MerchantId = MerchantId(0);
    const OTHER: MerchantId = MerchantId(1);

    fn store() -> Arc<IdempotencyStore> {
        Arc::new(IdempotencyStore::new(1_000))
    }

    fn ok(body: &'static str) -> StoredResponse {
        StoredResponse {
            status: 200,
            body: Box::from(body.as_bytes()),
        }
    }

    #[test]
    fn completed_key_replays_the_stored_response() {
        let s = store();
        let Claim::Proceed(r) = s.claim(M, "k", 1, 0) else {
            panic!("first use must proceed")
        };
        r.complete(ok("{\"a\":1}"));
        match s.claim(M, "k", 1, 10) {
            Claim::Replay(stored) => assert_eq!(stored, ok("{\"a\":1}")),
            other => panic!("expected a replay, got {other:?}"),
        }
        assert_eq!(s.counters.replays.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn same_key_different_request_is_a_mismatch_even_in_flight() {
        let s = store();
        let _held = s.claim(M, "k", 1, 0);
        assert!(matches!(s.claim(M, "k", 2, 0), Claim::Mismatch));
    }

    #[test]
    fn same_key_while_running_is_in_use() {
        let s = store();
        let held = s.claim(M, "k", 1, 0);
        assert!(matches!(held, Claim::Proceed(_)));
        assert!(matches!(s.claim(M, "k", 1, 0), Claim::InUse));
        assert_eq!(s.lookup(M, "k", 0), Some(KeyState::InFlight));
    }

    #[test]
    fn dropped_reservation_frees_the_key() {
        let s = store();
        drop(s.claim(M, "k", 1, 0));
        assert_eq!(s.lookup(M, "k", 0), None);
        // and a corrected request may now use it
        assert!(matches!(s.claim(M, "k", 2, 0), Claim::Proceed(_)));
    }

    #[test]
    fn keys_are_scoped_to_their_merchant() {
        let s = store();
        let Claim::Proceed(r) = s.claim(M, "k", 1, 0) else {
            panic!()
        };
        r.complete(ok("{}"));
        assert_eq!(s.lookup(OTHER, "k", 0), None);
        assert!(matches!(s.claim(OTHER, "k", 9, 0), Claim::Proceed(_)));
    }

    #[test]
    fn completed_keys_expire_after_the_ttl_but_in_flight_ones_do_not() {
        let s = store();
        let Claim::Proceed(r) = s.claim(M, "done", 1, 0) else {
            panic!()
        };
        r.complete(ok("{}"));
        let _running = s.claim(M, "running", 1, 0);
        assert!(s.lookup(M, "done", 999).is_some());
        assert_eq!(s.lookup(M, "done", 1_000), None);
        assert_eq!(s.lookup(M, "running", 5_000), Some(KeyState::InFlight));
        // an expired key is a fresh key, whatever the body
        let fresh = s.claim(M, "done", 7, 1_000);
        assert!(matches!(fresh, Claim::Proceed(_)));
        s.sweep(10_000);
        assert_eq!(s.len(), 2, "the fresh claim and the in-flight key remain");
    }
}
