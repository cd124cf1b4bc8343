//! Stripe ids over engine ids: a PaymentIntent `pi_X` is the engine's payment
//! `pay_X` (same digits) and its charge is `ch_X`; refunds keep their `re_` id.
//! Its own file because every resource translates ids, and the mapping must be
//! the same everywhere for one engine record to be one object.

use crate::engine::ids::PaymentId;

/// The prefix of PaymentIntent ids.
pub(super) const INTENT: &str = "pi_";
/// The prefix of charge ids.
pub(super) const CHARGE: &str = "ch_";

/// The engine's id for a Stripe id with `prefix`: `pi_X` → `pay_X`. Anything else
/// maps to an id the engine never has, so it is reported missing.
pub(super) fn engine_id(stripe_id: &str, prefix: &str) -> String {
    match stripe_id.strip_prefix(prefix) {
        Some(digits) => format!("{}{digits}", PaymentId::PREFIX),
        None => String::new(),
    }
}

/// The Stripe id of an engine payment with `prefix`: `pay_X` → `pi_X` or `ch_X`.
pub(super) fn stripe_id(id: PaymentId, prefix: &str) -> String {
    let printed = id.to_string();
    let digits = printed.strip_prefix(PaymentId::PREFIX).unwrap_or(&printed);
    format!("{prefix}{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_swap_prefixes_and_nothing_else() {
        let id = PaymentId(0x1234_5678_9abc_def0);
        let pi = stripe_id(id, INTENT);
        assert!(pi.starts_with("pi_"));
        assert_eq!(engine_id(&pi, INTENT), id.to_string());
        assert_eq!(engine_id(&stripe_id(id, CHARGE), CHARGE), id.to_string());
        assert_eq!(
            engine_id(&pi, CHARGE),
            "",
            "a PaymentIntent id is not a charge id"
        );
        assert_eq!(
            engine_id(&id.to_string(), INTENT),
            "",
            "native ids are not Stripe ids"
        );
    }
}
