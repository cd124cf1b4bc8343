//! Decline codes and the well-known test cards.
//!
//! Merchants write their retry and customer-messaging logic against decline codes, so the
//! simulator speaks the codes they already handle: Stripe's documented `decline_code` values.
//! Test cards (card numbers and `pm_card_*` / `tok_*` tokens) decline the way Stripe's test
//! mode does, whatever the scenario says, so client test suites written for Stripe keep working.

use serde::{Serialize, Serializer};
use std::fmt;

/// A card issuer's reason for declining, e.g. `insufficient_funds`. Copy-cheap: it is one
/// `&'static str` from the known list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeclineCode(&'static str);

impl DeclineCode {
    pub const AUTHENTICATION_REQUIRED: DeclineCode = DeclineCode("authentication_required");
    pub const CARD_NOT_SUPPORTED: DeclineCode = DeclineCode("card_not_supported");
    pub const CARD_VELOCITY_EXCEEDED: DeclineCode = DeclineCode("card_velocity_exceeded");
    pub const DO_NOT_HONOR: DeclineCode = DeclineCode("do_not_honor");
    pub const DO_NOT_TRY_AGAIN: DeclineCode = DeclineCode("do_not_try_again");
    pub const EXPIRED_CARD: DeclineCode = DeclineCode("expired_card");
    pub const FRAUDULENT: DeclineCode = DeclineCode("fraudulent");
    pub const GENERIC_DECLINE: DeclineCode = DeclineCode("generic_decline");
    pub const INCORRECT_CVC: DeclineCode = DeclineCode("incorrect_cvc");
    pub const INCORRECT_NUMBER: DeclineCode = DeclineCode("incorrect_number");
    pub const INSUFFICIENT_FUNDS: DeclineCode = DeclineCode("insufficient_funds");
    pub const ISSUER_NOT_AVAILABLE: DeclineCode = DeclineCode("issuer_not_available");
    pub const LOST_CARD: DeclineCode = DeclineCode("lost_card");
    pub const PICKUP_CARD: DeclineCode = DeclineCode("pickup_card");
    pub const PROCESSING_ERROR: DeclineCode = DeclineCode("processing_error");
    pub const STOLEN_CARD: DeclineCode = DeclineCode("stolen_card");
    pub const TRY_AGAIN_LATER: DeclineCode = DeclineCode("try_again_later");

    /// The code as sent on the wire (`decline_code`).
    pub const fn as_str(&self) -> &'static str {
        self.0
    }

    /// The known code with this name; None for anything else (typos included: a scenario
    /// that declines with `insuficient_funds` would test nothing a merchant handles).
    pub fn from_name(name: &str) -> Option<DeclineCode> {
        KNOWN_DECLINE_CODES
            .iter()
            .find(|known| **known == name)
            .map(|known| DeclineCode(known))
    }

    /// Every code a scenario may use, sorted.
    pub fn known() -> impl Iterator<Item = DeclineCode> {
        KNOWN_DECLINE_CODES.iter().map(|name| DeclineCode(name))
    }
}

impl fmt::Display for DeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for DeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeclineCode({})", self.0)
    }
}

impl Serialize for DeclineCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// Stripe's documented decline codes, sorted (the list a scenario may choose from).
pub const KNOWN_DECLINE_CODES: &[&str] = &[
    "approve_with_id",
    "authentication_required",
    "call_issuer",
    "card_not_supported",
    "card_velocity_exceeded",
    "currency_not_supported",
    "do_not_honor",
    "do_not_try_again",
    "duplicate_transaction",
    "expired_card",
    "fraudulent",
    "generic_decline",
    "incorrect_cvc",
    "incorrect_number",
    "incorrect_pin",
    "incorrect_zip",
    "insufficient_funds",
    "invalid_account",
    "invalid_amount",
    "invalid_cvc",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "invalid_number",
    "invalid_pin",
    "issuer_not_available",
    "lost_card",
    "merchant_blacklist",
    "new_account_information_available",
    "no_action_taken",
    "not_permitted",
    "offline_pin_required",
    "online_or_offline_pin_required",
    "pickup_card",
    "pin_try_exceeded",
    "processing_error",
    "reenter_transaction",
    "restricted_card",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "security_violation",
    "service_not_allowed",
    "stolen_card",
    "stop_payment_order",
    "testmode_decline",
    "transaction_not_allowed",
    "try_again_later",
    "withdrawal_count_limit_exceeded",
];

/// Test payment-method names (after the `pm_card_` or `tok_` prefix) and their outcome.
/// Names of declining cards are also accepted with a `visa_` prefix, as Stripe spells several
/// of them (`pm_card_visa_chargeDeclinedInsufficientFunds`).
const TEST_PAYMENT_METHODS: &[(&str, Option<DeclineCode>)] = &[
    ("visa", None),
    ("visa_debit", None),
    ("mastercard", None),
    ("mastercard_debit", None),
    ("mastercard_prepaid", None),
    ("amex", None),
    ("discover", None),
    ("diners", None),
    ("jcb", None),
    ("unionpay", None),
    ("chargeDeclined", Some(DeclineCode::GENERIC_DECLINE)),
    (
        "chargeDeclinedInsufficientFunds",
        Some(DeclineCode::INSUFFICIENT_FUNDS),
    ),
    ("chargeDeclinedLostCard", Some(DeclineCode::LOST_CARD)),
    ("chargeDeclinedStolenCard", Some(DeclineCode::STOLEN_CARD)),
    ("chargeDeclinedExpiredCard", Some(DeclineCode::EXPIRED_CARD)),
    (
        "chargeDeclinedIncorrectCvc",
        Some(DeclineCode::INCORRECT_CVC),
    ),
    (
        "chargeDeclinedProcessingError",
        Some(DeclineCode::PROCESSING_ERROR),
    ),
    ("chargeDeclinedFraudulent", Some(DeclineCode::FRAUDULENT)),
    (
        "chargeDeclinedVelocityLimitExceeded",
        Some(DeclineCode::CARD_VELOCITY_EXCEEDED),
    ),
    ("radarBlock", Some(DeclineCode::FRAUDULENT)),
    // 3-D Secure: approved once the buyer completes the challenge (see
    // `REQUIRES_AUTHENTICATION`).
    ("threeDSecure2Required", None),
    ("authenticationRequired", None),
    // Disputes: approved, then disputed once captured (see `DISPUTE_CARDS`).
    ("createDispute", None),
    ("createDisputeInquiry", None),
    ("createDisputeProductNotReceived", None),
];

/// The dispute a test card asks for once its payment is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisputeCard {
    /// Disputed as `fraudulent`.
    Fraudulent,
    /// An inquiry (reason `fraudulent`): no money moves.
    Inquiry,
    /// Disputed as `product_not_received`.
    ProductNotReceived,
}

/// Test payment methods (after the prefix) and card numbers that are approved,
/// then disputed, as in Stripe's test mode.
const DISPUTE_CARDS: &[(&str, DisputeCard)] = &[
    ("createDispute", DisputeCard::Fraudulent),
    ("createDisputeInquiry", DisputeCard::Inquiry),
    (
        "createDisputeProductNotReceived",
        DisputeCard::ProductNotReceived,
    ),
    ("4000000000000259", DisputeCard::Fraudulent),
    ("4000000000001976", DisputeCard::Inquiry),
    ("4000000000002685", DisputeCard::ProductNotReceived),
];

/// Test payment methods (after the prefix) and card numbers whose every payment
/// asks for the buyer's authentication (3-D Secure) before it is authorized, as
/// in Stripe's test mode.
const REQUIRES_AUTHENTICATION: &[&str] = &[
    "threeDSecure2Required",
    "authenticationRequired",
    "4000002760003184",
    "4000002500003155",
];

/// Stripe's test card numbers and their outcome.
const TEST_CARD_NUMBERS: &[(&str, Option<DeclineCode>)] = &[
    ("4242424242424242", None),
    ("4000056655665556", None),
    ("5555555555554444", None),
    ("2223003122003222", None),
    ("5200828282828210", None),
    ("5105105105105100", None),
    ("378282246310005", None),
    ("371449635398431", None),
    ("6011111111111117", None),
    ("6011000990139424", None),
    ("3056930009020004", None),
    ("36227206271667", None),
    ("3566002020360505", None),
    ("6200000000000005", None),
    ("4000000000000002", Some(DeclineCode::GENERIC_DECLINE)),
    ("4000000000009995", Some(DeclineCode::INSUFFICIENT_FUNDS)),
    ("4000000000009987", Some(DeclineCode::LOST_CARD)),
    ("4000000000009979", Some(DeclineCode::STOLEN_CARD)),
    ("4000000000000069", Some(DeclineCode::EXPIRED_CARD)),
    ("4000000000000127", Some(DeclineCode::INCORRECT_CVC)),
    ("4000000000000119", Some(DeclineCode::PROCESSING_ERROR)),
    (
        "4000000000006975",
        Some(DeclineCode::CARD_VELOCITY_EXCEEDED),
    ),
    ("4100000000000019", Some(DeclineCode::FRAUDULENT)),
    ("4000002760003184", None),
    ("4000002500003155", None),
    ("4000000000000259", None),
    ("4000000000001976", None),
    ("4000000000002685", None),
];

/// The table entry for a test payment method, e.g. `pm_card_visa` or `tok_chargeDeclined`.
fn lookup_payment_method(pm: &str) -> Option<Option<DeclineCode>> {
    let name = pm
        .strip_prefix("pm_card_")
        .or_else(|| pm.strip_prefix("tok_"))?;
    let name = match name.strip_prefix("visa_") {
        Some(rest) if rest.starts_with("chargeDeclined") => rest,
        _ => name,
    };
    TEST_PAYMENT_METHODS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, outcome)| *outcome)
}

/// Whether `pm` names a test payment method the simulator knows (so the API can answer 400 to
/// `pm_bogus` instead of charging it).
pub fn is_known_payment_method(pm: &str) -> bool {
    lookup_payment_method(pm).is_some()
}

/// The decline a test payment method or test card number always gets; None for approving test
/// cards and for any other (non-test) card number. Spaces and dashes in the number are ignored.
pub fn test_card_decline(
    payment_method: Option<&str>,
    card_number: Option<&str>,
) -> Option<DeclineCode> {
    if let Some(code) = payment_method.and_then(lookup_payment_method).flatten() {
        return Some(code);
    }
    let mut digits = [0u8; 19];
    let normalised = normalise_number(card_number?, &mut digits)?;
    TEST_CARD_NUMBERS
        .iter()
        .find(|(known, _)| *known == normalised)
        .and_then(|(_, outcome)| *outcome)
}

/// The dispute a test payment method or test card number asks for, if any.
pub fn dispute_card(
    payment_method: Option<&str>,
    card_number: Option<&str>,
) -> Option<DisputeCard> {
    let find = |name: &str| {
        DISPUTE_CARDS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, card)| *card)
    };
    if let Some(card) = payment_method
        .and_then(|pm| {
            pm.strip_prefix("pm_card_")
                .or_else(|| pm.strip_prefix("tok_"))
        })
        .and_then(find)
    {
        return Some(card);
    }
    let mut digits = [0u8; 19];
    card_number
        .and_then(|number| normalise_number(number, &mut digits))
        .and_then(find)
}

/// Whether a test payment method or test card number asks for the buyer's
/// authentication (3-D Secure) before it is authorized.
pub fn requires_authentication(payment_method: Option<&str>, card_number: Option<&str>) -> bool {
    let by_method = payment_method
        .and_then(|pm| {
            pm.strip_prefix("pm_card_")
                .or_else(|| pm.strip_prefix("tok_"))
        })
        .is_some_and(|name| REQUIRES_AUTHENTICATION.contains(&name));
    let mut digits = [0u8; 19];
    by_method
        || card_number
            .and_then(|number| normalise_number(number, &mut digits))
            .is_some_and(|number| REQUIRES_AUTHENTICATION.contains(&number))
}

/// A card number without its spaces and dashes, in `digits`; `None` when longer
/// than any card number.
fn normalise_number<'a>(number: &str, digits: &'a mut [u8; 19]) -> Option<&'a str> {
    let mut len = 0;
    for byte in number.bytes() {
        match byte {
            b' ' | b'-' => continue,
            _ if len < digits.len() => {
                digits[len] = byte;
                len += 1;
            }
            // Longer than any card number: not a test card.
            _ => return None,
        }
    }
    std::str::from_utf8(&digits[..len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_test_numbers_decline_with_their_documented_codes() {
        let cases = [
            ("4000000000000002", "generic_decline"),
            ("4000000000009995", "insufficient_funds"),
            ("4000000000009987", "lost_card"),
            ("4000000000009979", "stolen_card"),
            ("4000000000000069", "expired_card"),
            ("4000000000000127", "incorrect_cvc"),
            ("4000000000000119", "processing_error"),
        ];
        for (number, code) in cases {
            assert_eq!(
                test_card_decline(None, Some(number)).map(|c| c.as_str()),
                Some(code),
                "{number}"
            );
        }
        assert_eq!(test_card_decline(None, Some("4242424242424242")), None);
        assert_eq!(test_card_decline(None, Some("4242 4242 4242 4242")), None);
        assert_eq!(
            test_card_decline(None, Some("4000-0000-0000-9995")),
            Some(DeclineCode::INSUFFICIENT_FUNDS)
        );
        // An ordinary card number is approved by test-card rules (other rules may still decline).
        assert_eq!(test_card_decline(None, Some("4111111111111111")), None);
        assert_eq!(
            test_card_decline(None, Some("40000000000000020000000")),
            None
        );
        assert_eq!(test_card_decline(None, Some("4000\u{e9}")), None);
    }

    #[test]
    fn test_payment_methods_decline_like_stripe_test_mode() {
        let cases = [
            ("pm_card_chargeDeclined", Some("generic_decline")),
            ("pm_card_visa_chargeDeclined", Some("generic_decline")),
            (
                "pm_card_chargeDeclinedInsufficientFunds",
                Some("insufficient_funds"),
            ),
            (
                "pm_card_visa_chargeDeclinedInsufficientFunds",
                Some("insufficient_funds"),
            ),
            ("pm_card_chargeDeclinedLostCard", Some("lost_card")),
            ("pm_card_chargeDeclinedStolenCard", Some("stolen_card")),
            ("pm_card_chargeDeclinedExpiredCard", Some("expired_card")),
            ("pm_card_chargeDeclinedIncorrectCvc", Some("incorrect_cvc")),
            (
                "pm_card_chargeDeclinedProcessingError",
                Some("processing_error"),
            ),
            ("pm_card_chargeDeclinedFraudulent", Some("fraudulent")),
            ("tok_chargeDeclinedLostCard", Some("lost_card")),
            ("pm_card_visa", None),
            ("pm_card_mastercard", None),
            ("pm_card_amex", None),
            ("tok_visa", None),
        ];
        for (pm, code) in cases {
            assert!(is_known_payment_method(pm), "{pm}");
            assert_eq!(
                test_card_decline(Some(pm), None).map(|c| c.as_str()),
                code,
                "{pm}"
            );
        }
    }

    #[test]
    fn three_d_secure_cards_ask_for_authentication_and_nothing_else_does() {
        for pm in [
            "pm_card_threeDSecure2Required",
            "pm_card_authenticationRequired",
        ] {
            assert!(is_known_payment_method(pm), "{pm}");
            assert!(requires_authentication(Some(pm), None), "{pm}");
            assert_eq!(test_card_decline(Some(pm), None), None, "{pm}");
        }
        for number in ["4000002760003184", "4000 0025 0000 3155"] {
            assert!(requires_authentication(None, Some(number)), "{number}");
            assert_eq!(test_card_decline(None, Some(number)), None, "{number}");
        }
        assert!(!requires_authentication(
            Some("pm_card_visa"),
            Some("4242424242424242")
        ));
        assert!(!requires_authentication(
            None,
            Some("40000027600031840000000")
        ));
    }

    #[test]
    fn unknown_payment_methods_are_flagged() {
        for pm in [
            "pm_bogus",
            "pm_card_bogus",
            "pm_card_",
            "",
            "visa",
            "pm_card_visa_visa",
        ] {
            assert!(!is_known_payment_method(pm), "{pm}");
            assert_eq!(test_card_decline(Some(pm), None), None);
        }
    }

    #[test]
    fn a_declining_payment_method_wins_over_an_approving_number() {
        assert_eq!(
            test_card_decline(
                Some("pm_card_chargeDeclinedStolenCard"),
                Some("4242424242424242")
            ),
            Some(DeclineCode::STOLEN_CARD)
        );
        assert_eq!(
            test_card_decline(Some("pm_card_visa"), Some("4000000000009995")),
            Some(DeclineCode::INSUFFICIENT_FUNDS)
        );
    }

    #[test]
    fn decline_codes_come_from_the_known_list_only() {
        assert_eq!(
            DeclineCode::from_name("insufficient_funds"),
            Some(DeclineCode::INSUFFICIENT_FUNDS)
        );
        assert_eq!(DeclineCode::from_name("insuficient_funds"), None);
        assert_eq!(DeclineCode::from_name(""), None);
        let mut sorted = KNOWN_DECLINE_CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted, KNOWN_DECLINE_CODES,
            "the list must stay sorted and unique"
        );
        // Every named constant is in the list a scenario may use.
        for constant in [
            DeclineCode::AUTHENTICATION_REQUIRED,
            DeclineCode::CARD_NOT_SUPPORTED,
            DeclineCode::CARD_VELOCITY_EXCEEDED,
            DeclineCode::DO_NOT_HONOR,
            DeclineCode::DO_NOT_TRY_AGAIN,
            DeclineCode::EXPIRED_CARD,
            DeclineCode::FRAUDULENT,
            DeclineCode::GENERIC_DECLINE,
            DeclineCode::INCORRECT_CVC,
            DeclineCode::INCORRECT_NUMBER,
            DeclineCode::INSUFFICIENT_FUNDS,
            DeclineCode::ISSUER_NOT_AVAILABLE,
            DeclineCode::LOST_CARD,
            DeclineCode::PICKUP_CARD,
            DeclineCode::PROCESSING_ERROR,
            DeclineCode::STOLEN_CARD,
            DeclineCode::TRY_AGAIN_LATER,
        ] {
            assert_eq!(DeclineCode::from_name(constant.as_str()), Some(constant));
        }
    }
}
