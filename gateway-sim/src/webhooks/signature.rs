//! Stripe's webhook signature scheme, exactly, so the official SDKs verify
//! gateway-sim's webhooks unchanged: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "{t}.{raw body}" under the endpoint's secret>`. The native dialect sends the
//! same value under its own header name.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header a Stripe endpoint's deliveries are signed in.
pub const STRIPE_HEADER: &str = "stripe-signature";
/// The header a native endpoint's deliveries are signed in.
pub const NATIVE_HEADER: &str = "gateway-signature";

/// The signature header's value for `body` sent at `unix_seconds` (the real send
/// time: the SDKs reject signatures older than five minutes by the wall clock,
/// whatever the simulator's clock says).
pub fn sign(secret: &str, unix_seconds: u64, body: &[u8]) -> String {
    format!(
        "t={unix_seconds},v1={}",
        hex(&mac(secret, unix_seconds, body))
    )
}

fn mac(secret: &str, unix_seconds: u64, body: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HMAC-SHA256 test vector of RFC 4231, case 2 ("Jefe"), through the
    /// same code path: proves the MAC and the hex are the standard ones.
    #[test]
    fn the_mac_is_standard_hmac_sha256() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let bytes: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(
            hex(&bytes),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_header_signs_the_timestamp_a_dot_and_the_body() {
        let header = sign("whsec_test", 1_700_000_000, b"{\"id\":\"evt_1\"}");
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(t, "t=1700000000");
        let expected = hex(&mac("whsec_test", 1_700_000_000, b"{\"id\":\"evt_1\"}"));
        assert_eq!(v1, format!("v1={expected}"));
        assert_ne!(
            sign("whsec_other", 1_700_000_000, b"{}"),
            sign("whsec_test", 1_700_000_000, b"{}")
        );
    }
}
