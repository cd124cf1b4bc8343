//! Money: amounts are i64 minor units (cents), currencies are three ASCII letters.

use std::fmt;

/// Largest amount accepted in one payment: 99,999,999.99 in a two-decimal currency,
/// Stripe's own ceiling. It also keeps every sum of refunds far from i64 overflow.
pub const MAX_AMOUNT: i64 = 9_999_999_999;

/// An ISO-4217-shaped currency code, stored lowercase in three bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Accepts three ASCII letters in any case; anything else is `None`.
    pub fn parse(s: &str) -> Option<Currency> {
        let b = s.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        Some(Currency([
            b[0].to_ascii_lowercase(),
            b[1].to_ascii_lowercase(),
            b[2].to_ascii_lowercase(),
        ]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
}
