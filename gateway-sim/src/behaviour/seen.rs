//! `SeenCounter`: how many times the same request arrived before, the `seen_before` of a fate.
//!
//! Per-key sequences ("fail the first 2 attempts of each key") and independent draws for retries
//! both need to know whether a request is a retry. The server asks here once per request, so at
//! 50k requests/s this must not be a point of contention: the map is split into shards, each
//! behind its own short lock, and entries keep only a 64-bit hash of (merchant, endpoint,
//! identity), never the bytes, so a million distinct requests cost about 16-32 MB.

use super::endpoint::Endpoint;
use super::rng::hash_bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SHARDS: usize = 64;
/// Fixed so that identical requests always land on the same entry (it need not be secret: the
/// counter only tells a retry from a first attempt).
const SEEN_HASH_SEED: u64 = 0x7365_656e_636f_756e;

/// Request key hash -> arrivals so far.
type Counts = HashMap<u64, u32, BuildHasherDefault<PreHashed>>;

/// One shard: the requests seen since the last [`SeenCounter::age`], and before it. Without
/// `--retain` nothing ages, and `previous` stays empty.
#[derive(Default)]
struct Generations {
    current: Counts,
    previous: Counts,
}

type Shard = Mutex<Generations>;

/// Thread-safe count of arrivals per (merchant, endpoint, identity).
pub struct SeenCounter {
    shards: Box<[Shard]>,
}

impl SeenCounter {
    pub fn new() -> Self {
        SeenCounter {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Generations::default()))
                .collect(),
        }
    }

    /// Records one arrival and returns how many times the same request arrived before it
    /// (0 the first time). Saturates at `u32::MAX`.
    pub fn observe(&self, merchant: &str, endpoint: Endpoint, identity: &[u8]) -> u32 {
        let key = request_key(merchant, endpoint, identity);
        let mut shard = self.shard(key).lock();
        let shard = &mut *shard;
        let count = match shard.current.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(shard.previous.remove(&key).unwrap_or(0))
            }
        };
        let before = *count;
        *count = count.saturating_add(1);
        before
    }

    /// How many times the request arrived so far, without recording an arrival.
    pub fn peek(&self, merchant: &str, endpoint: Endpoint, identity: &[u8]) -> u32 {
        let key = request_key(merchant, endpoint, identity);
        let shard = self.shard(key).lock();
        shard
            .current
            .get(&key)
            .or_else(|| shard.previous.get(&key))
            .copied()
            .unwrap_or(0)
    }

    /// Forgets the requests not seen since the previous call (`--retain`, once a window):
    /// a request then counts as seen before for one to two windows after its last arrival,
    /// so memory stays flat in a long run.
    pub fn age(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let current = std::mem::take(&mut shard.current);
            shard.previous = current;
        }
    }

    /// Forgets every request (for `POST /_sim/reset`).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            *shard.lock() = Generations::default();
        }
    }

    /// Number of distinct requests remembered.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let shard = shard.lock();
                shard.current.len() + shard.previous.len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| {
            let shard = shard.lock();
            shard.current.is_empty() && shard.previous.is_empty()
        })
    }

    fn shard(&self, key: u64) -> &Shard {
        // Bits 32..38 pick the shard: the map itself uses the low bits (bucket) and the top 7
        // (SIMD tag), so sharding on those would leave every shard's keys clustered.
        &self.shards[((key >> 32) as usize) % self.shards.len()]
    }
}

impl Default for SeenCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SeenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenCounter")
            .field("requests", &self.len())
            .finish()
    }
}

fn request_key(merchant: &str, endpoint: Endpoint, identity: &[u8]) -> u64 {
    let h = hash_bytes(SEEN_HASH_SEED, merchant.as_bytes());
    let h = hash_bytes(h, endpoint.as_str().as_bytes());
    hash_bytes(h, identity)
}

/// The keys are already well-mixed 64-bit hashes: hashing them again would only cost time.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are stored; this path exists to satisfy the trait.
        self.0 = hash_bytes(self.0, bytes);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn aging_twice_forgets_a_request_not_seen_meanwhile() {
        let seen = SeenCounter::new();
        seen.observe("sk_a", Endpoint::Create, b"old");
        seen.observe("sk_a", Endpoint::Create, b"again");
        seen.age();
        // Seen in the previous generation: still a retry, and carried into the current one.
        assert_eq!(seen.observe("sk_a", Endpoint::Create, b"again"), 1);
        assert_eq!(seen.peek("sk_a", Endpoint::Create, b"old"), 1);
        seen.age();
        assert_eq!(seen.peek("sk_a", Endpoint::Create, b"old"), 0);
        assert_eq!(seen.peek("sk_a", Endpoint::Create, b"again"), 2);
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn counts_arrivals_per_merchant_endpoint_and_identity() {
        let seen = SeenCounter::new();
        assert_eq!(seen.observe("sk_a", Endpoint::Create, b"key-1"), 0);
        assert_eq!(seen.observe("sk_a", Endpoint::Create, b"key-1"), 1);
        assert_eq!(seen.observe("sk_a", Endpoint::Create, b"key-1"), 2);
        assert_eq!(seen.peek("sk_a", Endpoint::Create, b"key-1"), 3);
        // Another merchant, endpoint or identity is a different request.
        assert_eq!(seen.observe("sk_b", Endpoint::Create, b"key-1"), 0);
        assert_eq!(seen.observe("sk_a", Endpoint::Capture, b"key-1"), 0);
        assert_eq!(seen.observe("sk_a", Endpoint::Create, b"key-2"), 0);
        assert_eq!(seen.len(), 4);
        seen.clear();
        assert!(seen.is_empty());
        assert_eq!(seen.observe("sk_a", Endpoint::Create, b"key-1"), 0);
    }

    #[test]
    fn concurrent_observers_each_get_a_distinct_count() {
        let seen = Arc::new(SeenCounter::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    (0..500)
                        .map(|_| seen.observe("sk", Endpoint::Refund, b"same"))
                        .collect::<Vec<u32>>()
                })
            })
            .collect();
        let mut all: Vec<u32> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_default())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..2000).collect::<Vec<u32>>());
    }
}
