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

/// How many entries to reserve so that a table that loses entries as fast as it gains them
/// (a `--retain` soak) is at most half full: `None` when it is already.
///
/// hashbrown marks a removed slot as a tombstone, and a table whose room is used up by
/// tombstones rehashes in place only while at most half full; above half it doubles. A table
/// holding a steady window of entries between half and seven eighths of its buckets
/// therefore doubles once, after enough churn: in the 30-minute soak that was 25 minutes in
/// (3.4 million orders), the retention tracker's 12.5 MiB map becoming 25 MiB, so the RSS
/// rose late after 17 flat minutes. Asked by every retention pass (`retire.rs`), this takes
/// that one doubling as soon as a table passes half full, in warm-up; after it, the
/// tombstones are cleared in place. `allocation` is the table's `allocation_size()`, and
/// `slot` the size of one entry.
pub(crate) fn room_for_churn(len: usize, allocation: usize, slot: usize) -> Option<usize> {
    if allocation == 0 {
        return None;
    }
    // The allocation is `buckets` slots and a control byte each, plus a group's worth of
    // control bytes (8 or 16): rounding down to a power of two gives the buckets.
    let estimate = allocation / (slot + 1);
    let buckets = 1usize << (usize::BITS - 1 - estimate.leading_zeros());
    let full = if buckets < 8 {
        buckets - 1
    } else {
        buckets / 8 * 7
    };
    // Reserving past what the buckets hold makes hashbrown move to twice the buckets.
    (len + 1 > full / 2).then(|| full + 1 - len)
}

/// A hash that is the same for the whole process, to pick shards.
pub(crate) fn shard_hash(value: impl std::hash::Hash) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5ca1_ab1e).hash_one(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window of `live` entries churned first in, first out (as `--retain` churns its
    /// tables), asking `room_for_churn` after every 500 inserts when `keep_room`: the
    /// table's bytes when the window is first full, and the most bytes after it.
    fn churn(live: u64, keep_room: bool) -> (usize, usize) {
        // A fixed seed: where tombstones fall depends on the hashes.
        let mut map: hashbrown::HashMap<u64, u64, _> =
            hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::with_seed(7));
        let (mut at_warm_up, mut largest) = (0, 0);
        for i in 0..live * 60 {
            map.insert(i, i);
            if i >= live {
                map.remove(&(i - live));
            }
            if keep_room
                && i % 500 == 0
                && let Some(more) = room_for_churn(map.len(), map.allocation_size(), 16)
            {
                map.reserve(more);
            }
            if i == live {
                at_warm_up = map.allocation_size();
            } else if i > live {
                largest = largest.max(map.allocation_size());
            }
        }
        (at_warm_up, largest)
    }

    #[test]
    fn a_churned_table_past_half_full_doubles_in_warm_up_not_late() {
        // 3,000 entries sit above half of the 3,584 a 4,096-bucket table holds.
        let (warm, largest) = churn(3_000, false);
        assert!(
            largest >= 2 * warm - 64,
            "hashbrown doubles once its tombstones run out ({warm} -> {largest} bytes); \
             if it no longer does, room_for_churn is not needed"
        );
        let (warm, largest) = churn(3_000, true);
        assert!(warm >= 8_192 * 17, "doubled by warm-up: {warm} bytes");
        assert_eq!(largest, warm, "and never again");
    }

    #[test]
    fn room_is_asked_only_above_half_full() {
        let mut map: hashbrown::HashMap<u64, u64, _> =
            hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::with_seed(7));
        for i in 0..1_000 {
            map.insert(i, i);
        }
        // 1,000 entries in 2,048 buckets (1,792 held at most) are past half: 4,096 buckets.
        assert_eq!(map.capacity(), 1_792);
        let more = room_for_churn(map.len(), map.allocation_size(), 16).expect("above half");
        map.reserve(more);
        assert_eq!(map.capacity(), 3_584);
        assert_eq!(room_for_churn(map.len(), map.allocation_size(), 16), None);
        assert_eq!(room_for_churn(0, 0, 16), None);
    }
}
