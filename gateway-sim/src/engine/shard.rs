//! The sharded hash tables every engine table is built from: the map type, the shard count and
//! the hash that picks a shard. A leaf, so that the engine and the idempotency store can share
//! it without importing each other.

use std::collections::HashMap;

/// How many shards each sharded table has (a power of two, so a hash masks to a shard).
pub(crate) const SHARDS: usize = 64;

/// The engine's hash maps. foldhash instead of std's SipHash: hashing was a tenth
/// of the time of a request, and the keys here (ids, idempotency keys) do not
/// need SipHash's resistance to chosen collisions in a test simulator.
pub(crate) type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A hash that is the same for the whole process, to pick shards.
pub(crate) fn shard_hash(value: impl std::hash::Hash) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5ca1_ab1e).hash_one(value)
}
