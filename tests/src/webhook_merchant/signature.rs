//! Checking that a webhook really comes from the gateway: the `Gateway-Signature`
//! header is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")>`,
//! the scheme Stripe uses. Anyone can POST to `/webhooks`; only the gateway
//! knows the secret, so an event whose signature does not verify is not acted on.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header native deliveries are signed in.
pub const HEADER: &str = "gateway-signature";

/// How old a signature may be, as Stripe's SDKs allow: an attacker who captured one
/// delivery cannot replay it later.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    TooOld,
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no Gateway-Signature header",
            SignatureError::Malformed => "the Gateway-Signature header is malformed",
            SignatureError::TooOld => "the signature's timestamp is outside the tolerance",
            SignatureError::Mismatch => "no v1 signature matches the body under our secret",
        })
    }
}

/// Checks `header` against the exact bytes received. Any one `v1=` may match (the
/// gateway may sign with several secrets while one is being rolled).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(SignatureError::TooOld);
    }
    let matches = signatures.iter().any(|hex| {
        let Some(expected) = decode_hex(hex) else {
            return false;
        };
        // verify_slice compares in constant time, so timing leaks nothing of the MAC.
        mac(secret, timestamp, body).verify_slice(&expected).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value the gateway would send for `body` at `unix_seconds` (for tests, and
/// for anyone replaying a stored event by hand).
pub fn sign(secret: &str, unix_seconds: u64, body: &[u8]) -> String {
    let bytes = mac(secret, unix_seconds, body).finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={unix_seconds},v1={hex}")
}

fn mac(secret: &str, unix_seconds: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let header = sign("whsec_a", now(), b"{\"id\":\"evt_1\"}");
        assert_eq!(
            verify(
                Some(&header),
                b"{\"id\":\"evt_1\"}",
                "whsec_a",
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn another_secret_a_changed_body_or_an_old_timestamp_is_refused() {
        let t = now();
        let header = sign("whsec_a", t, b"{}");
        let check = |h: &str, body: &[u8], secret| verify(Some(h), body, secret, DEFAULT_TOLERANCE);
        assert_eq!(
            check(&header, b"{}", "whsec_b"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&header, b"{ }", "whsec_a"),
            Err(SignatureError::Mismatch)
        );
        let old = sign("whsec_a", t - 3600, b"{}");
        assert_eq!(check(&old, b"{}", "whsec_a"), Err(SignatureError::TooOld));
        assert_eq!(
            check("v1=00", b"{}", "whsec_a"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(None, b"{}", "whsec_a", DEFAULT_TOLERANCE),
            Err(SignatureError::Missing)
        );
    }
}
