//! A decline code as the engine stores it: two bytes, not a pointer and a length.
//!
//! Every declined payment, its decline's ledger entry and each change of it carry one, and
//! the codes come from a short closed list (the fault model's known codes, and
//! [`super::AUTHENTICATION_FAILURE`]). A 16-byte `Arc<str>` on each was 14 bytes of every
//! payment, ledger entry and change, declined or not, since an `Option` of one is as wide
//! as one. So a code is interned once into a process-wide table and stored as its index.
//!
//! It reads as the `&'static str` it stands for (`Deref`), and is written to journals and
//! snapshots as that text, so their format does not depend on the table's order.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU8;
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

/// How many distinct codes the table holds. The known list has about twenty; a journal
/// naming more than this is not one of ours, and is refused.
const CAPACITY: usize = 255;

/// The texts by index - 1: written once each, under `Table`'s lock, read without it.
static TEXTS: [OnceLock<&'static str>; CAPACITY] = [const { OnceLock::new() }; CAPACITY];

/// Text → index, for interning.
fn table() -> &'static Mutex<HashMap<&'static str, NonZeroU8>> {
    static TABLE: OnceLock<Mutex<HashMap<&'static str, NonZeroU8>>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// An interned decline code; see the module doc.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoredDeclineCode(NonZeroU8);

impl StoredDeclineCode {
    /// The code for `text`, interned on first use; `None` once the table is full of other
    /// codes (only a journal that is not ours gets there).
    pub fn intern(text: &str) -> Option<StoredDeclineCode> {
        let mut table = table().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = table.get(text) {
            return Some(StoredDeclineCode(*index));
        }
        let next = table.len() + 1;
        let index = NonZeroU8::new(u8::try_from(next).ok()?)?;
        let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
        // The lock is held: nobody else writes this slot.
        let _ = TEXTS[next - 1].set(text);
        table.insert(text, index);
        Some(StoredDeclineCode(index))
    }

    /// A code the front doors give (the fault model's known list, a failed
    /// authentication): a short closed list, so the table never fills with them.
    pub fn known(text: &str) -> StoredDeclineCode {
        Self::intern(text).unwrap_or_else(|| {
            // Unreachable with the front doors' codes; still no panic on a request path.
            Self::intern("generic_decline").unwrap_or(StoredDeclineCode(NonZeroU8::MIN))
        })
    }

    pub fn as_str(self) -> &'static str {
        TEXTS[usize::from(self.0.get()) - 1]
            .get()
            .copied()
            .unwrap_or("generic_decline")
    }
}

impl Deref for StoredDeclineCode {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for StoredDeclineCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for StoredDeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for StoredDeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for StoredDeclineCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for StoredDeclineCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        StoredDeclineCode::intern(&text)
            .ok_or_else(|| serde::de::Error::custom("too many distinct decline codes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_as_its_text_and_interns_once() {
        let a = StoredDeclineCode::known("insufficient_funds");
        let b = StoredDeclineCode::intern("insufficient_funds").expect("room");
        assert_eq!(a, b);
        assert_eq!(&*a, "insufficient_funds");
        assert_ne!(a, StoredDeclineCode::known("lost_card"));
        assert_eq!(std::mem::size_of::<Option<StoredDeclineCode>>(), 1);
    }

    #[test]
    fn journals_hold_the_text() {
        let code = StoredDeclineCode::known("expired_card");
        let text = serde_json::to_string(&code).expect("serializes");
        assert_eq!(text, r#""expired_card""#);
        let back: StoredDeclineCode = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, code);
    }
}
