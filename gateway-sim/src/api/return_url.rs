//! The `return_url` of a confirmation: where the buyer's browser goes after an
//! authentication challenge. Both doors take it, under one rule, so a page the
//! simulator serves never redirects anywhere but an absolute web URL.

use super::ApiError;
use crate::behaviour::check_webhook_url;

/// The longest `return_url` taken (what browsers and Stripe handle comfortably).
const MAX_RETURN_URL_LEN: usize = 2048;

/// Checks a `return_url` sent as `param`: an absolute `http://` or `https://`
/// URL with a host, visible ASCII only, at most 2048 characters.
pub fn check_return_url(url: &str, param: &str) -> Result<(), ApiError> {
    // The grammar is a webhook URL's; only the message differs.
    if url.len() > MAX_RETURN_URL_LEN || check_webhook_url(url).is_err() {
        return Err(ApiError::invalid(
            "url_invalid",
            format!(
                "{param} must be an absolute http:// or https:// URL with a host, of visible ASCII characters (percent-encode others), at most {MAX_RETURN_URL_LEN} long; e.g. \"https://shop.example/orders/7/return\""
            ),
        )
        .with_param(param));
    }
    Ok(())
}
