//! Who is calling: the API key, sent as `Authorization: Bearer <key>` (the
//! SDKs) or as the user name of HTTP Basic (Stripe's curl examples, `-u
//! sk_test_...:`). Its own file because Basic brings a base64 decoder the
//! native API does not need.

use std::borrow::Cow;

use crate::api::ApiError;
use crate::api::request::bearer_api_key;

/// The API key: Bearer, or HTTP Basic with the key as the user name.
pub(super) fn api_key(headers: &http::HeaderMap) -> Option<Cow<'_, str>> {
    if let Some(key) = bearer_api_key(headers) {
        return Some(Cow::Borrowed(key));
    }
    basic_auth_user(headers).map(Cow::Owned)
}

/// The 401 when no key came, saying both ways to send one.
pub(super) fn missing_api_key() -> ApiError {
    let mut e = ApiError::unauthorized();
    e.message = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer sk_test_...') or Basic auth with the key as the user name. Any non-empty key names a merchant account in gateway-sim.".to_string();
    e
}

fn basic_auth_user(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let user = decoded.split(':').next().unwrap_or_default();
    (!user.is_empty()).then(|| user.to_string())
}

/// Standard or URL-safe base64, padding optional; `None` on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_carries_the_key_as_user() {
        let mut h = http::HeaderMap::new();
        // base64("sk_test_abc:")
        h.insert(
            http::header::AUTHORIZATION,
            "Basic c2tfdGVzdF9hYmM6".parse().unwrap(),
        );
        assert_eq!(api_key(&h).as_deref(), Some("sk_test_abc"));
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer sk_test_xyz".parse().unwrap(),
        );
        assert_eq!(api_key(&h).as_deref(), Some("sk_test_xyz"));
        h.insert(http::header::AUTHORIZATION, "Basic Og==".parse().unwrap());
        assert_eq!(api_key(&h), None, "an empty user is no key");
        h.insert(http::header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(api_key(&h), None);
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
    }
}
