//! [`SharedStr`]: an immutable string that several records share, held in one
//! word. A payment's order reference and metadata, and a request's idempotency
//! key, are each stored once and named by the payment, its changes, its ledger
//! entries, the reference index and the idempotency record. `Arc<str>` names a
//! string in two words (pointer and length); with a million payments, each held
//! by four or five records, that second word cost about 60 bytes per payment
//! (BENCHMARKS.md, "Memory per stored payment"). Here the length lives in the
//! shared allocation instead, beside the count, which costs it nothing: the
//! allocation is as large as an `Arc<str>`'s (`Arc` keeps a second, weak count
//! there; `triomphe`'s thin `Arc` has no weak count).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use triomphe::ThinArc;

/// A shared, immutable string in one word. Reads as a `str` (`Deref`), hashes and
/// compares as one (so a map keyed by it is looked up by `&str`), and is
/// written and read by serde as a plain string: a journal written when these were
/// `Arc<str>`s reads back unchanged.
#[derive(Clone)]
pub struct SharedStr(ThinArc<(), u8>);

impl SharedStr {
    pub fn as_str(&self) -> &str {
        // Only ever made from a `str` (`From<&str>`), so the bytes are UTF-8; the
        // check keeps this crate free of `unsafe` and costs a few nanoseconds on
        // the short strings held here.
        std::str::from_utf8(&self.0.slice).unwrap_or_default()
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> SharedStr {
        SharedStr(ThinArc::from_header_and_slice((), s.as_bytes()))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> SharedStr {
        SharedStr::from(s.as_str())
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedStr {}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// As `str` hashes, which `Borrow<str>` requires of a map key.
impl Hash for SharedStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SharedStr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SharedStr, D::Error> {
        // A `Cow` borrows where the format allows and owns where it must (escapes).
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(SharedStr::from(&*s))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn it_takes_one_word_and_none_takes_no_more() {
        assert_eq!(std::mem::size_of::<SharedStr>(), 8);
        assert_eq!(std::mem::size_of::<Option<SharedStr>>(), 8);
    }

    #[test]
    fn it_reads_compares_and_hashes_as_its_str() {
        let a = SharedStr::from("order-42");
        let b = a.clone();
        assert_eq!(&*b, "order-42");
        assert_eq!(a, SharedStr::from(String::from("order-42")));
        assert_ne!(a, SharedStr::from("order-43"));
        assert_eq!(SharedStr::from("").as_str(), "");
        assert_eq!(format!("{a} {a:?}"), "order-42 \"order-42\"");
        let mut index = HashMap::new();
        index.insert(a, 7);
        assert_eq!(index.get("order-42"), Some(&7), "found by &str");
    }

    /// The journal keeps what an `Arc<str>` wrote: the two read each other's bytes.
    #[test]
    fn serde_writes_and_reads_it_as_an_arc_str_does() {
        let text = "key-\u{e9}\"quoted\"";
        let shared = SharedStr::from(text);
        let arc: Arc<str> = Arc::from(text);
        assert_eq!(
            rmp_serde::to_vec(&shared).unwrap(),
            rmp_serde::to_vec(&arc).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&shared).unwrap(),
            serde_json::to_string(&arc).unwrap()
        );
        let from_json: SharedStr =
            serde_json::from_str(&serde_json::to_string(&arc).unwrap()).unwrap();
        assert_eq!(&*from_json, text);
        let from_msgpack: SharedStr =
            rmp_serde::from_slice(&rmp_serde::to_vec(&arc).unwrap()).unwrap();
        assert_eq!(&*from_msgpack, text);
    }
}
