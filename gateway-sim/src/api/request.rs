//! The request as the server hands it to a front door, and the readers every
//! door shares: the API key, the idempotency key, the content type, %-escapes
//! in paths and queries. One file, so two dialects cannot read the same header
//! two ways.

use std::borrow::Cow;

use bytes::Bytes;
use http::Method;

use super::ApiError;

/// Idempotency keys longer than this are refused, as Stripe does.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The request as the server hands it to a front door.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a Bytes,
}

/// The `Idempotency-Key` header, checked: present keys are 1..=255 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = |msg: &str| {
        Err(
            ApiError::invalid("idempotency_key_invalid", msg.to_string())
                .with_param("Idempotency-Key"),
        )
    };
    let Ok(key) = value.to_str() else {
        return bad("The Idempotency-Key header must be printable ASCII.");
    };
    let key = key.trim();
    if key.is_empty() {
        return bad(
            "The Idempotency-Key header is empty; omit it or send a unique key per operation.",
        );
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(ApiError::invalid(
            "idempotency_key_too_long",
            format!("Idempotency keys can be at most {MAX_IDEMPOTENCY_KEY_LEN} characters; this one has {}.", key.len()),
        )
        .with_param("Idempotency-Key"));
    }
    Ok(Some(key.to_string()))
}

/// The API key from `Authorization: Bearer <key>`; it names the merchant account.
pub fn bearer_api_key(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// Whether the body is JSON: `application/json` or any `+json` type, parameters
/// (`; charset=utf-8`) ignored. Compares in place: every create asks this.
pub(crate) fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().as_bytes();
            mime.eq_ignore_ascii_case(b"application/json")
                || mime.len() >= 5 && mime[mime.len() - 5..].eq_ignore_ascii_case(b"+json")
        })
}

/// Decodes `%XX` escapes in a path segment; `None` if they do not form UTF-8.
pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    decode(segment, false).map(Cow::into_owned)
}

/// A form-encoded key or value (a query string, a Stripe form body): `+` is a space and
/// `%XX` a byte. Borrowed when there is nothing to decode, as is nearly always the case.
pub(crate) fn form_decode(text: &str) -> Option<Cow<'_, str>> {
    decode(text, true)
}

/// `%XX` (two hex digits) is a byte, and with `plus_is_space` `+` is a space; `None` if an
/// escape is malformed or the bytes are not UTF-8.
fn decode(text: &str, plus_is_space: bool) -> Option<Cow<'_, str>> {
    let plain = |b: u8| b != b'%' && !(plus_is_space && b == b'+');
    if text.bytes().all(plain) {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let digit = |b: u8| char::from(b).to_digit(16);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// A path segment that names something (an id, a key), %-decoded; the same
/// 400 in every dialect when its escapes are malformed.
pub(crate) fn path_segment(segment: &str) -> Result<String, ApiError> {
    percent_decode(segment)
        .ok_or_else(|| ApiError::invalid("invalid_path", "The URL has a malformed %-escape."))
}

/// The value of one query parameter, percent-decoded (`+` is a space, as forms send it).
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| form_decode(v).map(Cow::into_owned))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_escapes_and_refuses_garbage() {
        assert_eq!(percent_decode("order%2D1").as_deref(), Some("order-1"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None, "not UTF-8");
        assert_eq!(percent_decode("%+1"), None, "two hex digits, no sign");
        assert_eq!(
            percent_decode("a+b").as_deref(),
            Some("a+b"),
            "+ is literal in a path"
        );
        assert!(matches!(form_decode("plain"), Some(Cow::Borrowed("plain"))));
        assert_eq!(
            query_param(Some("a=1&reference=order%20%31"), "reference").as_deref(),
            Some("order 1")
        );
        assert_eq!(
            query_param(Some("reference=a+b"), "reference").as_deref(),
            Some("a b")
        );
        assert_eq!(query_param(None, "reference"), None);
    }

    #[test]
    fn bearer_keys_are_read_and_empty_ones_refused() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer_api_key(&h), None);
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer sk_test_1".parse().unwrap(),
        );
        assert_eq!(bearer_api_key(&h), Some("sk_test_1"));
        h.insert(http::header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_api_key(&h), None);
        h.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_api_key(&h), None);
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        let mut h = http::HeaderMap::new();
        assert_eq!(idempotency_key(&h), Ok(None));
        h.insert("idempotency-key", "k-1".parse().unwrap());
        assert_eq!(idempotency_key(&h), Ok(Some("k-1".into())));
        h.insert("idempotency-key", "x".repeat(255).parse().unwrap());
        assert!(idempotency_key(&h).is_ok());
        h.insert("idempotency-key", "x".repeat(256).parse().unwrap());
        assert_eq!(
            idempotency_key(&h).unwrap_err().code,
            "idempotency_key_too_long"
        );
    }

    #[test]
    fn json_content_types_are_recognised_whatever_their_case() {
        let with = |value: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/vnd.api+JSON"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("json"));
        assert!(!is_json(&http::HeaderMap::new()));
    }
}
