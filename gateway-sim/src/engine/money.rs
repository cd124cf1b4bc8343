//! Money: amounts are i64 minor units (cents), currencies are three ASCII letters.

use std::fmt;

/// Largest amount accepted in one payment: 99,999,999.99 in a two-decimal currency,
/// Stripe's own ceiling. It also keeps every sum of refunds far from i64 overflow.
pub const MAX_AMOUNT: i64 = 9_999_999_999;

/// An ISO-4217-shaped currency code: three lowercase letters, kept as their number
/// in base 26 (26³ codes fit in 15 bits). Two bytes rather than three let a ledger
/// entry fit 48 bytes; the text comes from a table of every code (`as_str`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(u16);

/// Every three-letter code: 17,576 of them.
const CODES: usize = 26 * 26 * 26;

impl Currency {
    /// Accepts three ASCII letters in any case; anything else is `None`.
    pub fn parse(s: &str) -> Option<Currency> {
        let b = s.as_bytes();
        if b.len() != 3 {
            return None;
        }
        Currency::of_letters([b[0], b[1], b[2]].map(|c| c.to_ascii_lowercase()))
    }

    /// The code of three lowercase letters; `None` for anything else.
    fn of_letters(letters: [u8; 3]) -> Option<Currency> {
        letters
            .iter()
            .try_fold(0u16, |n, c| {
                c.is_ascii_lowercase().then(|| n * 26 + u16::from(c - b'a'))
            })
            .map(Currency)
    }

    fn letters(self) -> [u8; 3] {
        let n = self.0;
        [n / 676, n / 26 % 26, n % 26].map(|d| b'a' + d as u8)
    }

    pub fn as_str(&self) -> &'static str {
        let at = usize::from(self.0) * 3;
        all_codes().get(at..at + 3).unwrap_or("???")
    }
}

/// Every code's text, in order, written on first use (52 KB): `as_str` then hands out
/// a `&'static str`, as it could when the letters were stored.
fn all_codes() -> &'static str {
    static ALL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        (0..CODES as u16)
            .flat_map(|n| Currency(n).letters())
            .map(char::from)
            .collect()
    })
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Currency").field(&self.as_str()).finish()
    }
}

/// How a currency is written to journals and snapshots: its three letters, as serde
/// wrote the `Currency([u8; 3])` it once was, so journals written then still read.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "Currency")]
struct Letters([u8; 3]);

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Letters(self.letters()).serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Currency, D::Error> {
        // Only lowercase letters were ever written; upper case is read as `parse` reads it.
        let Letters(letters) = Letters::deserialize(deserializer)?;
        Currency::of_letters(letters.map(|c| c.to_ascii_lowercase()))
            .ok_or_else(|| serde::de::Error::custom("a currency is three ASCII letters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_letters_stored_lowercase() {
        assert_eq!(
            Currency::parse("USD").map(|c| c.to_string()),
            Some("usd".into())
        );
        assert_eq!(
            Currency::parse("eur").map(|c| c.to_string()),
            Some("eur".into())
        );
        assert_eq!(Currency::parse("us"), None);
        assert_eq!(Currency::parse("usd1"), None);
        assert_eq!(Currency::parse("u$d"), None);
        assert_eq!(Currency::parse("ééé"), None);
    }

    #[test]
    fn every_code_reads_back_as_its_letters_in_two_bytes() {
        assert_eq!(std::mem::size_of::<Currency>(), 2);
        for text in ["aaa", "usd", "eur", "jpy", "zzz"] {
            let currency = Currency::parse(text).unwrap();
            assert_eq!(currency.as_str(), text);
            assert_eq!(format!("{currency:?}"), format!("Currency({text:?})"));
        }
        for n in 0..CODES as u16 {
            assert_eq!(Currency::parse(Currency(n).as_str()), Some(Currency(n)));
        }
    }

    /// Journals and snapshots hold what serde wrote of the `Currency([u8; 3])` this once
    /// was: both forms read each other's bytes.
    #[test]
    fn serde_reads_and_writes_the_three_letters_it_always_did() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        #[serde(rename = "Currency")]
        struct Before([u8; 3]);
        let usd = Currency::parse("usd").unwrap();
        let mut now = Vec::new();
        rmp_serde::encode::write_named(&mut now, &usd).unwrap();
        let mut before = Vec::new();
        rmp_serde::encode::write_named(&mut before, &Before(*b"usd")).unwrap();
        assert_eq!(now, before);
        assert_eq!(rmp_serde::from_slice::<Currency>(&before).unwrap(), usd);
        assert_eq!(
            serde_json::to_string(&usd).unwrap(),
            serde_json::to_string(&Before(*b"usd")).unwrap()
        );
        assert_eq!(serde_json::from_str::<Currency>("[85,83,68]").unwrap(), usd);
        assert!(
            serde_json::from_str::<Currency>("[117,36,100]").is_err(),
            "u$d"
        );
    }
}
