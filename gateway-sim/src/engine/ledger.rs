//! The append-only ledger: one entry per money movement, never edited.
//!
//! The ledger is the simulator's single source of truth about money. loadgen's
//! check reads it (as NDJSON from `GET /_sim/ledger`, or in process) and
//! compares it with what every client was told.

use serde::{Deserialize, Serialize};

/// What kind of money movement an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Funds reserved on the card.
    Authorization,
    /// Authorized funds taken.
    Capture,
    /// Authorized funds given back without being taken (cancel, or the uncaptured rest of a partial capture).
    Release,
    /// Captured funds given back.
    Refund,
    /// A declined attempt: recorded so a test can see it, moves no money (amount is 0).
    Decline,
    /// Captured funds taken back by the cardholder's bank when a dispute opens.
    Dispute,
    /// Disputed funds given back to the merchant: the dispute was won.
    DisputeReversal,
}

/// Why a movement happened, on entries the gateway made by itself (no request
/// caused them). Absent on every other entry, so older readers see nothing new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryReason {
    /// A release: the authorization was not captured within its validity.
    Expired,
}

/// One ledger entry, in the form it is published (`GET /_sim/ledger`, one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// 1-based, gap-free, in the order the movements happened.
    pub seq: u64,
    /// Simulator time of the movement, Unix milliseconds.
    pub time_ms: u64,
    /// The merchant account (the API key) the payment belongs to.
    pub merchant: String,
    pub payment_id: String,
    /// The merchant's order reference given at creation, if any.
    pub reference: Option<String>,
    /// The idempotency key of the request that caused this movement, if it carried one.
    pub idempotency_key: Option<String>,
    pub kind: EntryKind,
    /// Minor units; 0 for declines.
    pub amount: i64,
    pub currency: String,
    /// The decline code, on decline entries only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// Why, on movements the gateway made by itself (`expired` releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EntryReason>,
}

use parking_lot::Mutex;

use super::decline_code::StoredDeclineCode;
use super::ids::{MerchantId, PaymentId};
use super::money::Currency;
use super::shared_str::SharedStr;

/// The stored form of an entry: numbers and shared strings, no per-entry heap allocation,
/// 48 bytes. The sequence number is the position in the ledger, so it is not stored.
/// Journals and snapshots hold it as [`MovementForm`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "MovementForm", from = "MovementForm")]
pub(crate) struct Movement {
    pub time_ms: u64,
    pub payment: PaymentId,
    pub amount: i64,
    pub merchant: MerchantId,
    pub kind: KindAndReason,
    pub currency: Currency,
    pub idempotency_key: Option<SharedStr>,
    pub decline_code: Option<StoredDeclineCode>,
}

impl Movement {
    pub fn kind(&self) -> EntryKind {
        self.kind.kind()
    }

    pub fn reason(&self) -> Option<EntryReason> {
        self.kind.reason()
    }
}

/// An entry's kind and why it happened, in one byte: the kind's number, with the top
/// bit set for an expiry's release. A byte of its own for the reason would make a stored
/// entry 49 bytes of content, and 56 with its alignment, where it is now 48.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KindAndReason(u8);

/// The kinds, by the number [`KindAndReason`] keeps.
const KINDS: [EntryKind; 7] = [
    EntryKind::Authorization,
    EntryKind::Capture,
    EntryKind::Release,
    EntryKind::Refund,
    EntryKind::Decline,
    EntryKind::Dispute,
    EntryKind::DisputeReversal,
];

const EXPIRED: u8 = 0x80;

impl KindAndReason {
    pub fn new(kind: EntryKind, reason: Option<EntryReason>) -> KindAndReason {
        let number = match kind {
            EntryKind::Authorization => 0,
            EntryKind::Capture => 1,
            EntryKind::Release => 2,
            EntryKind::Refund => 3,
            EntryKind::Decline => 4,
            EntryKind::Dispute => 5,
            EntryKind::DisputeReversal => 6,
        };
        let reason = match reason {
            None => 0,
            Some(EntryReason::Expired) => EXPIRED,
        };
        KindAndReason(number | reason)
    }

    pub fn kind(self) -> EntryKind {
        KINDS[usize::from(self.0 & !EXPIRED)]
    }

    pub fn reason(self) -> Option<EntryReason> {
        (self.0 & EXPIRED != 0).then_some(EntryReason::Expired)
    }
}

/// A movement as journals and snapshots hold it: the fields, names and order it had when
/// the kind and the reason were kept apart, so journals written then read back.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "Movement")]
struct MovementForm {
    time_ms: u64,
    payment: PaymentId,
    amount: i64,
    merchant: MerchantId,
    kind: EntryKind,
    currency: Currency,
    idempotency_key: Option<SharedStr>,
    decline_code: Option<StoredDeclineCode>,
    reason: Option<EntryReason>,
}

impl From<Movement> for MovementForm {
    fn from(m: Movement) -> MovementForm {
        MovementForm {
            time_ms: m.time_ms,
            payment: m.payment,
            amount: m.amount,
            merchant: m.merchant,
            kind: m.kind.kind(),
            currency: m.currency,
            decline_code: m.decline_code,
            reason: m.kind.reason(),
            idempotency_key: m.idempotency_key,
        }
    }
}

impl From<MovementForm> for Movement {
    fn from(f: MovementForm) -> Movement {
        Movement {
            time_ms: f.time_ms,
            payment: f.payment,
            amount: f.amount,
            merchant: f.merchant,
            kind: KindAndReason::new(f.kind, f.reason),
            currency: f.currency,
            idempotency_key: f.idempotency_key,
            decline_code: f.decline_code,
        }
    }
}

/// Entries live in fixed-size chunks so that appending never copies the ledger:
/// a single growing Vec would stall every writer while it moved millions of entries.
const CHUNK: usize = 16 * 1024;

/// The ledger in memory: its chunks, and how much of its head retention (`--retain`,
/// `retention.rs`) has let go. Sequence numbers never change: an entry let go leaves its
/// number behind, and the next append still takes the number after the last.
#[derive(Default)]
pub(crate) struct Ledger {
    chunks: Mutex<Chunks>,
}

#[derive(Default)]
struct Chunks {
    /// The chunks still held; `held[0]` is chunk number `dropped` of the whole ledger.
    held: std::collections::VecDeque<Vec<Movement>>,
    /// Whole chunks let go from the head.
    dropped: usize,
    /// Entries let go at the head of `held[0]` (still in it until the chunk goes whole).
    skipped: usize,
}

impl Chunks {
    fn len(&self) -> u64 {
        self.held.back().map_or((self.dropped * CHUNK) as u64, |c| {
            ((self.dropped + self.held.len() - 1) * CHUNK + c.len()) as u64
        })
    }

    /// The first sequence number still held (`len() + 1` when none is).
    fn first(&self) -> u64 {
        (self.dropped * CHUNK + self.skipped) as u64 + 1
    }

    fn get(&self, seq: u64) -> Option<&Movement> {
        if seq < self.first() {
            return None;
        }
        let index = (seq - 1) as usize;
        self.held
            .get(index / CHUNK - self.dropped)
            .and_then(|c| c.get(index % CHUNK))
    }
}

impl Ledger {
    /// Appends and returns the entry's sequence number (1-based).
    pub(crate) fn append(&self, movement: Movement) -> u64 {
        let mut chunks = self.chunks.lock();
        let needs_chunk = chunks.held.back().is_none_or(|c| c.len() == CHUNK);
        if needs_chunk {
            chunks.held.push_back(Vec::with_capacity(CHUNK));
        }
        let last = chunks.held.back_mut().expect("a chunk was just ensured");
        last.push(movement);
        chunks.len()
    }

    /// Replay: appends a journaled entry if it is the next one; `false` otherwise.
    pub(crate) fn restore(&self, seq: u64, movement: Movement) -> bool {
        if seq != self.len() + 1 {
            return false;
        }
        self.append(movement);
        true
    }

    pub(crate) fn len(&self) -> u64 {
        self.chunks.lock().len()
    }

    /// The first sequence number still in memory: 1 unless retention let the head go.
    pub(crate) fn first_held(&self) -> u64 {
        self.chunks.lock().first()
    }

    /// Copies out the movements held with sequence numbers in `from..=to`, with their
    /// numbers (from the first held, if `from` was let go). Copying keeps the lock short;
    /// the caller renders outside it.
    pub(crate) fn range(&self, from: u64, to: u64) -> Vec<(u64, Movement)> {
        let chunks = self.chunks.lock();
        let mut seq = from.max(chunks.first());
        let to = to.min(chunks.len());
        let mut out = Vec::with_capacity(to.saturating_sub(seq) as usize + 1);
        while seq <= to {
            match chunks.get(seq) {
                Some(m) => out.push((seq, m.clone())),
                None => break,
            }
            seq += 1;
        }
        out
    }

    /// The sequence numbers of `payment`'s movements still held, in order. The lock is
    /// taken once per chunk, so appends go on between chunks of a long scan.
    pub(crate) fn seqs_of(&self, payment: PaymentId) -> Vec<u64> {
        let mut seqs = Vec::new();
        let mut chunk = 0;
        loop {
            let chunks = self.chunks.lock();
            let number = chunk.max(chunks.dropped);
            let Some(movements) = chunks.held.get(number - chunks.dropped) else {
                return seqs;
            };
            let first = (number * CHUNK) as u64 + 1;
            let from = chunks.first();
            seqs.extend(
                movements
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.payment == payment)
                    .map(|(i, _)| first + i as u64)
                    .filter(|seq| *seq >= from),
            );
            chunk = number + 1;
        }
    }

    /// Retention: lets go of the head entries no later than `horizon_ms` (simulator time),
    /// up to sequence number `up_to` at most; stops at the first later one. Returns how
    /// many went. A chunk's memory goes once all of it has.
    pub(crate) fn let_go_until(&self, horizon_ms: u64, up_to: u64) -> u64 {
        let mut chunks = self.chunks.lock();
        let mut gone = 0;
        loop {
            let first = chunks.first();
            if first > up_to {
                break;
            }
            match chunks.get(first) {
                Some(m) if m.time_ms <= horizon_ms => {}
                _ => break,
            }
            gone += 1;
            chunks.skipped += 1;
            if chunks.skipped == CHUNK {
                chunks.held.pop_front();
                chunks.dropped += 1;
                chunks.skipped = 0;
            }
        }
        gone
    }

    pub(crate) fn clear(&self) {
        *self.chunks.lock() = Chunks::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movement(payment: PaymentId) -> Movement {
        Movement {
            time_ms: 0,
            payment,
            amount: 1,
            merchant: MerchantId(0),
            kind: KindAndReason::new(EntryKind::Authorization, None),
            currency: Currency::parse("usd").expect("usd is a currency"),
            idempotency_key: None,
            decline_code: None,
        }
    }

    #[test]
    fn every_kind_and_reason_reads_back_from_its_byte() {
        for kind in KINDS {
            for reason in [None, Some(EntryReason::Expired)] {
                let both = KindAndReason::new(kind, reason);
                assert_eq!((both.kind(), both.reason()), (kind, reason));
            }
        }
    }

    /// Journals and snapshots hold movements in the form they had before the kind and the
    /// reason shared a byte: both forms read each other's bytes.
    #[test]
    fn a_movement_is_journaled_as_it_always_was() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Before {
            time_ms: u64,
            payment: PaymentId,
            amount: i64,
            merchant: MerchantId,
            kind: EntryKind,
            currency: Currency,
            idempotency_key: Option<SharedStr>,
            decline_code: Option<StoredDeclineCode>,
            reason: Option<EntryReason>,
        }
        let before = Before {
            time_ms: 7,
            payment: PaymentId(9),
            amount: 2500,
            merchant: MerchantId(3),
            kind: EntryKind::Release,
            currency: Currency::parse("eur").unwrap(),
            idempotency_key: Some(SharedStr::from("k-1")),
            decline_code: None,
            reason: Some(EntryReason::Expired),
        };
        let mut old = Vec::new();
        rmp_serde::encode::write_named(&mut old, &before).unwrap();
        let read: Movement = rmp_serde::from_slice(&old).unwrap();
        assert_eq!(
            (read.kind(), read.reason(), read.amount, read.time_ms),
            (EntryKind::Release, Some(EntryReason::Expired), 2500, 7)
        );
        assert_eq!(read.idempotency_key.as_deref(), Some("k-1"));
        let mut now = Vec::new();
        rmp_serde::encode::write_named(&mut now, &read).unwrap();
        assert_eq!(now, old);
    }

    #[test]
    fn a_payments_entries_are_found_across_chunks() {
        let ledger = Ledger::default();
        let (mine, other) = (PaymentId(1), PaymentId(2));
        ledger.append(movement(mine));
        for _ in 0..CHUNK {
            ledger.append(movement(other));
        }
        ledger.append(movement(mine));
        assert_eq!(ledger.seqs_of(mine), [1, CHUNK as u64 + 2]);
        assert!(ledger.seqs_of(PaymentId(3)).is_empty());
    }

    #[test]
    fn letting_the_head_go_keeps_the_numbers() {
        let ledger = Ledger::default();
        let (mine, other) = (PaymentId(1), PaymentId(2));
        for _ in 0..CHUNK + 10 {
            ledger.append(movement(other));
        }
        ledger.append(Movement {
            time_ms: 5,
            ..movement(mine)
        });
        // Only entries no later than the horizon go, and never past `up_to`.
        assert_eq!(ledger.let_go_until(0, 3), 3);
        assert_eq!(ledger.first_held(), 4);
        assert_eq!(ledger.let_go_until(0, u64::MAX), CHUNK as u64 + 7);
        assert_eq!(ledger.first_held(), CHUNK as u64 + 11);
        assert_eq!(ledger.len(), CHUNK as u64 + 11);
        assert!(ledger.range(1, 5).is_empty());
        assert_eq!(ledger.range(1, u64::MAX).len(), 1);
        assert_eq!(ledger.seqs_of(mine), [CHUNK as u64 + 11]);
        assert_eq!(ledger.append(movement(other)), CHUNK as u64 + 12);
        assert!(ledger.restore(CHUNK as u64 + 13, movement(other)));
    }
}
