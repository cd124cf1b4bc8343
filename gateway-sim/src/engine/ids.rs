//! Public identifiers: merchant accounts, payments and refunds.
//!
//! Payment and refund ids are random 128-bit numbers, printed in base 62 behind
//! a prefix (`pay_`, `re_`) the way real gateways print theirs. Keeping them as
//! numbers inside the engine makes every index entry 16 bytes instead of a heap
//! string, which is what keeps a million stored payments under a kilobyte each.

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 62^22 > 2^128, so every u128 fits in 22 digits.
const DIGITS: usize = 22;

/// 62^10: the largest power of 62 a u64 holds, so all but two divisions are u64 ones.
const CHUNK: u128 = 839_299_365_868_340_224;

/// The longest prefix (`txn_`) and the digits: every printed id fits.
const PRINTED: usize = 4 + DIGITS;

/// `prefix` and the 22 base-62 digits of `n`, on the stack. Ids are printed in every answer
/// and journal frame, so this avoids u128 arithmetic per digit (two u128 divisions split
/// `n` into chunks whose digits come from u64 divisions by a constant) and the formatter.
fn printed(prefix: &str, n: u128) -> ([u8; PRINTED], usize) {
    let mut out = [0u8; PRINTED];
    let len = prefix.len() + DIGITS;
    out[..prefix.len()].copy_from_slice(prefix.as_bytes());
    let digits = &mut out[prefix.len()..len];
    // n < 2^128 < 62^22: the top chunk holds 2 digits, the others 10 each.
    let (top, low) = (n / CHUNK, (n % CHUNK) as u64);
    let (high, middle) = ((top / CHUNK) as u64, (top % CHUNK) as u64);
    for (chunk, mut value) in digits.rchunks_mut(10).zip([low, middle, high]) {
        for slot in chunk.iter_mut().rev() {
            *slot = ALPHABET[(value % 62) as usize];
            value /= 62;
        }
    }
    (out, len)
}

fn encode(prefix: &str, n: u128, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (bytes, len) = printed(prefix, n);
    // The buffer holds the prefix and ASCII from ALPHABET.
    f.write_str(std::str::from_utf8(&bytes[..len]).map_err(|_| fmt::Error)?)
}

fn decode(prefix: &str, s: &str) -> Option<u128> {
    let digits = s.strip_prefix(prefix)?;
    if digits.len() != DIGITS {
        return None;
    }
    let mut n: u128 = 0;
    for b in digits.bytes() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        n = n.checked_mul(62)?.checked_add(u128::from(d))?;
    }
    Some(n)
}

macro_rules! id_type {
    ($name:ident, $prefix:literal, $doc:literal) => {
        #[doc = $doc]
        // Packed to 8-byte alignment: a bare u128 aligns to 16 and would pad every
        // payment, ledger entry and index entry that holds an id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(C, packed(8))]
        pub struct $name(pub(crate) u128);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            // Not every id is random: a dispute's is its payment's.
            #[allow(dead_code)]
            pub(crate) fn random() -> Self {
                Self(rand::random())
            }

            /// Parses the printed form; `None` for anything that is not one of ours.
            pub fn parse(s: &str) -> Option<Self> {
                decode($prefix, s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                encode($prefix, self.0, f)
            }
        }

        // In the journal and snapshots an id is its printed form, so a file reads like
        // the API's answers and a wrong prefix is refused on the way back in.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let (bytes, len) = printed($prefix, self.0);
                match std::str::from_utf8(&bytes[..len]) {
                    Ok(text) => s.serialize_str(text),
                    Err(_) => s.collect_str(self),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("not a {} id: {text}", $prefix))
                })
            }
        }
    };
}

id_type!(
    PaymentId,
    "pay_",
    "A payment's id, printed as `pay_` and 22 base-62 digits."
);
id_type!(
    RefundId,
    "re_",
    "A refund's id, printed as `re_` and 22 base-62 digits."
);

id_type!(
    WebhookEndpointId,
    "we_",
    "A webhook endpoint's id, printed as `we_` and 22 base-62 digits."
);

id_type!(
    DisputeId,
    "dp_",
    "A dispute's id, printed as `dp_` and the 22 digits of the payment it disputes."
);

id_type!(
    BalanceTransactionId,
    "txn_",
    "A balance transaction's id, printed as `txn_` and 22 base-62 digits derived from what it settles."
);

id_type!(
    PayoutId,
    "po_",
    "A payout's id, printed as `po_` and 22 base-62 digits derived from its account and time."
);

impl DisputeId {
    /// A payment has at most one dispute, so its id is the payment's number.
    pub fn of(payment: PaymentId) -> DisputeId {
        DisputeId(payment.0)
    }

    pub fn payment(self) -> PaymentId {
        PaymentId(self.0)
    }
}

impl PaymentId {
    /// Spreads payments over the engine's shards; ids are random, so the low bits are uniform.
    pub(crate) fn shard(self, shards: usize) -> usize {
        (self.0 as usize) & (shards - 1)
    }
}

/// A merchant account, interned: the API key is stored once, everything else holds this number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MerchantId(pub(crate) u32);

/// Interns API keys into [`MerchantId`]s. Read-mostly: a run has a handful of merchants.
#[derive(Default)]
pub(crate) struct Merchants {
    inner: RwLock<MerchantTable>,
    /// With `--data-dir`: told of each new merchant before its number is used (the journal).
    on_new: std::sync::OnceLock<OnNewMerchant>,
}

/// Told of a new merchant account: its number and API key.
pub(crate) type OnNewMerchant = Box<dyn Fn(MerchantId, &Arc<str>) + Send + Sync>;

#[derive(Default)]
struct MerchantTable {
    by_key: super::shard::Map<Arc<str>, MerchantId>,
    keys: Vec<Arc<str>>,
}

impl Merchants {
    pub(crate) fn intern(&self, api_key: &str) -> MerchantId {
        if let Some(id) = self.inner.read().by_key.get(api_key) {
            return *id;
        }
        let mut table = self.inner.write();
        if let Some(id) = table.by_key.get(api_key) {
            return *id;
        }
        let id = MerchantId(table.keys.len() as u32);
        let key: Arc<str> = Arc::from(api_key);
        table.keys.push(key.clone());
        table.by_key.insert(key.clone(), id);
        // Under the write lock: the number is journaled before anyone can use it.
        if let Some(tell) = self.on_new.get() {
            tell(id, &key);
        }
        id
    }

    pub(crate) fn on_new(&self, tell: OnNewMerchant) {
        let _ = self.on_new.set(tell);
    }

    /// Replay: merchant `id` has `api_key`; `false` when the number is taken by another.
    pub(crate) fn restore(&self, id: MerchantId, api_key: &str) -> bool {
        let mut table = self.inner.write();
        if let Some(known) = table.by_key.get(api_key) {
            return *known == id;
        }
        if table.keys.len() != id.0 as usize {
            return false;
        }
        let key: Arc<str> = Arc::from(api_key);
        table.keys.push(key.clone());
        table.by_key.insert(key, id);
        true
    }

    /// Every merchant, by number (for a snapshot).
    pub(crate) fn all(&self) -> Vec<(MerchantId, Arc<str>)> {
        let table = self.inner.read();
        table
            .keys
            .iter()
            .enumerate()
            .map(|(i, key)| (MerchantId(i as u32), key.clone()))
            .collect()
    }

    pub(crate) fn api_key(&self, id: MerchantId) -> Arc<str> {
        self.inner
            .read()
            .keys
            .get(id.0 as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_printed_form() {
        for n in [0u128, 1, 61, 62, u128::MAX, 0x0123_4567_89ab_cdef] {
            let id = PaymentId(n);
            let printed = id.to_string();
            assert!(printed.starts_with("pay_"));
            assert_eq!(printed.len(), 4 + DIGITS);
            assert_eq!(PaymentId::parse(&printed), Some(id));
        }
    }

    /// The printed form never changes: ids in journals, snapshots and clients' records
    /// stay readable. This is the digit-by-digit definition the fast path must match.
    #[test]
    fn printing_matches_base_62_digit_by_digit() {
        fn slow(mut n: u128) -> String {
            let mut digits = vec![b'0'; DIGITS];
            for slot in digits.iter_mut().rev() {
                *slot = ALPHABET[(n % 62) as usize];
                n /= 62;
            }
            format!("txn_{}", String::from_utf8(digits).expect("ASCII"))
        }
        let mut n: u128 = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834;
        let edges = [0, 1, 61, 62, CHUNK - 1, CHUNK, CHUNK * CHUNK, u128::MAX];
        for value in edges.into_iter().chain((0..2000).map(|_| {
            // An LCG walk over the whole range.
            n = n
                .wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645)
                .wrapping_add(1);
            n
        })) {
            assert_eq!(BalanceTransactionId(value).to_string(), slow(value));
            assert_eq!(
                serde_json::to_string(&BalanceTransactionId(value)).expect("serializes"),
                format!("\"{}\"", slow(value))
            );
        }
    }

    #[test]
    fn foreign_or_malformed_ids_do_not_parse() {
        let printed = RefundId(42).to_string();
        assert_eq!(
            PaymentId::parse(&printed),
            None,
            "a refund id is not a payment id"
        );
        assert_eq!(PaymentId::parse("pay_short"), None);
        assert_eq!(PaymentId::parse("pay_!!!!!!!!!!!!!!!!!!!!!!"), None);
        // 22 'z' digits overflow u128 and must be refused, not wrapped.
        assert_eq!(
            PaymentId::parse(&format!("pay_{}", "z".repeat(DIGITS))),
            None
        );
    }

    #[test]
    fn merchants_are_interned_once() {
        let m = Merchants::default();
        let a = m.intern("sk_a");
        assert_eq!(m.intern("sk_a"), a);
        assert_ne!(m.intern("sk_b"), a);
        assert_eq!(&*m.api_key(a), "sk_a");
    }
}
