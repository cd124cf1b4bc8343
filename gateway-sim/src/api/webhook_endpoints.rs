//! What both doors accept as a webhook endpoint: a URL the dispatcher can post
//! to, and a list of event types the endpoint's dialect sends. Its own file
//! because the Stripe and native doors take the same inputs under different
//! parameter names (`enabled_events[]`, `events`), and the rules must not drift
//! between them; each door passes its own names so errors point at what the
//! client sent.

use std::sync::Arc;

use super::{ApiError, type_matches};

/// The longest URL an endpoint may have (what browsers and proxies commonly allow).
pub const MAX_URL_LEN: usize = 2048;
/// The most event types one endpoint may list (before duplicates are dropped):
/// every type each dialect sends fits many times over, so more is a client bug.
pub const MAX_ENABLED_EVENTS: usize = 16;
/// The longest description (Stripe's limit on descriptions).
pub const MAX_DESCRIPTION_LEN: usize = 5000;

/// The URL, checked: an absolute `http://` or `https://` URL with a host, at
/// most [`MAX_URL_LEN`] long. `param` names it in the error.
pub fn check_url(url: &str, param: &str) -> Result<Arc<str>, ApiError> {
    let invalid = |why: &str| {
        ApiError::invalid(
            "url_invalid",
            format!("Invalid URL '{url}': {why}. Send an absolute http:// or https:// URL, such as https://example.com/webhooks."),
        )
        .with_param(param)
    };
    if url.is_empty() {
        return Err(missing(param));
    }
    if url.len() > MAX_URL_LEN {
        return Err(ApiError::invalid(
            "url_invalid",
            format!(
                "The URL is {} characters long; the most is {MAX_URL_LEN}.",
                url.len()
            ),
        )
        .with_param(param));
    }
    let uri: http::Uri = url.parse().map_err(|_| invalid("it does not parse"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(invalid("only http and https are supported")),
        None => return Err(invalid("it is not absolute")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(Arc::from(url))
}

/// The event types, checked against `known` (the dialect's types) or `*`:
/// non-empty, at most [`MAX_ENABLED_EVENTS`] entries; duplicates dropped, the
/// first kept, so the endpoint lists each type once in the order sent.
pub fn check_event_types(
    types: &[&str],
    known: &[&str],
    param: &str,
) -> Result<Vec<Arc<str>>, ApiError> {
    if types.is_empty() {
        return Err(ApiError::invalid(
            "parameter_missing",
            format!("{param} must list at least one event type, or '*' for all."),
        )
        .with_param(param));
    }
    if types.len() > MAX_ENABLED_EVENTS {
        return Err(ApiError::invalid(
            "parameter_invalid_array",
            format!(
                "{param} lists {} event types; the most is {MAX_ENABLED_EVENTS} (use '*' for all).",
                types.len()
            ),
        )
        .with_param(param));
    }
    let mut checked: Vec<Arc<str>> = Vec::with_capacity(types.len());
    for t in types {
        if *t != "*" && !known.contains(t) {
            return Err(ApiError::invalid(
                "parameter_invalid_string",
                format!(
                    "Unknown event type '{t}' in {param}. Known types: {}, or '*' for all.",
                    known.join(", ")
                ),
            )
            .with_param(param));
        }
        if !checked.iter().any(|c| &**c == *t) {
            checked.push(Arc::from(*t));
        }
    }
    Ok(checked)
}

/// A type filter of the events API, checked: a known type, a family of known
/// types (`payment_intent.*`) or `*`. A filter that can match nothing is a typo.
pub fn check_type_filter(pattern: &str, known: &[&str], param: &str) -> Result<(), ApiError> {
    let matches_some = known.iter().any(|t| type_matches(pattern, t));
    let well_formed = !pattern.contains('*') || pattern == "*" || pattern.ends_with(".*");
    if matches_some && well_formed {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "parameter_invalid_string",
            format!(
                "Unknown event type '{pattern}'. Known types: {}; a family such as payment_intent.*; or '*'.",
                known.join(", ")
            ),
        )
        .with_param(param))
    }
}

/// The description, checked: at most [`MAX_DESCRIPTION_LEN`] characters.
pub fn check_description(description: &str, param: &str) -> Result<Arc<str>, ApiError> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(ApiError::invalid(
            "parameter_invalid_string",
            format!("The description can be at most {MAX_DESCRIPTION_LEN} characters."),
        )
        .with_param(param));
    }
    Ok(Arc::from(description))
}

/// 400 for a required input the request did not send.
pub fn missing(param: &str) -> ApiError {
    ApiError::invalid(
        "parameter_missing",
        format!("Missing required param: {param}."),
    )
    .with_param(param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_with_a_host_and_bounded() {
        assert!(check_url("https://example.com/hooks", "url").is_ok());
        assert!(check_url("http://127.0.0.1:9000/x?y=1", "url").is_ok());
        for bad in [
            "",
            "example.com/hooks",
            "/hooks",
            "ftp://example.com/",
            "https://",
            "not a url",
        ] {
            let e = check_url(bad, "url").unwrap_err();
            assert_eq!(e.param.as_deref(), Some("url"), "{bad}");
            assert_eq!(e.status, http::StatusCode::BAD_REQUEST, "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(check_url(&long, "url").is_err());
    }

    #[test]
    fn event_type_lists_are_known_bounded_and_deduplicated() {
        let known = ["a.one", "a.two", "b.one"];
        let ok = check_event_types(&["a.one", "*", "a.one"], &known, "events").unwrap();
        assert_eq!(ok.iter().map(|t| &**t).collect::<Vec<_>>(), ["a.one", "*"]);
        assert!(check_event_types(&[], &known, "events").is_err());
        assert!(check_event_types(&["a.three"], &known, "events").is_err());
        assert!(check_event_types(&["a.*"], &known, "events").is_err());
        let many = vec!["a.one"; MAX_ENABLED_EVENTS + 1];
        assert!(check_event_types(&many, &known, "events").is_err());
        assert!(check_type_filter("a.*", &known, "type").is_ok());
        assert!(check_type_filter("*", &known, "type").is_ok());
        assert!(check_type_filter("b.one", &known, "type").is_ok());
        assert!(check_type_filter("c.*", &known, "type").is_err());
        assert!(check_type_filter("a*", &known, "type").is_err());
        assert!(check_type_filter("a.on", &known, "type").is_err());
    }
}
