//! How a payment is written to journals and snapshots, and read back: its fields flat,
//! under the names they have always had, whatever the struct keeps boxed in memory
//! ([`Rare`]), so files written before the box existed still read, and new files read
//! the same way. Writing borrows the payment's fields; nothing is cloned.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::decline_code::StoredDeclineCode;
use super::dispute::{Dispute, DisputePlan};
use super::ids::{MerchantId, PaymentId};
use super::money::Currency;
use super::payment::{
    CancellationReason, CaptureMethod, Challenge, Payment, PaymentMethod, PaymentStatus, Rare,
    RareFields, Refund,
};
use super::shared_str::SharedStr;

/// A payment as written: field for field what `Payment` derived before its rarely set
/// fields moved into a box.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Payment")]
struct Form<'a> {
    id: PaymentId,
    merchant: MerchantId,
    status: PaymentStatus,
    amount: i64,
    amount_capturable: i64,
    amount_captured: i64,
    amount_refunded: i64,
    currency: Currency,
    reference: Cow<'a, Option<SharedStr>>,
    created: u64,
    payment_method: Cow<'a, PaymentMethod>,
    decline_code: Option<StoredDeclineCode>,
    metadata: Cow<'a, Option<SharedStr>>,
    refunds: Cow<'a, [Refund]>,
    capture_method: CaptureMethod,
    confirmed_at: Option<u64>,
    canceled_at: Option<u64>,
    cancellation_reason: Option<CancellationReason>,
    capture_before_ms: Option<u64>,
    #[serde(with = "challenge_form")]
    challenge: Cow<'a, Option<Box<Challenge>>>,
    dispute_plan: Option<DisputePlan>,
    dispute: Cow<'a, Option<Box<Dispute>>>,
}

impl Serialize for Payment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rare: &RareFields = &self.rare;
        Form {
            id: self.id,
            merchant: self.merchant,
            status: self.status,
            amount: self.amount,
            amount_capturable: self.amount_capturable,
            amount_captured: self.amount_captured,
            amount_refunded: self.amount_refunded,
            currency: self.currency,
            reference: Cow::Borrowed(&self.reference),
            created: self.created,
            payment_method: Cow::Borrowed(&self.payment_method),
            decline_code: self.decline_code,
            metadata: Cow::Borrowed(&self.metadata),
            refunds: Cow::Borrowed(&rare.refunds),
            capture_method: self.capture_method,
            confirmed_at: self.confirmed_at.get(),
            canceled_at: rare.canceled_at,
            cancellation_reason: rare.cancellation_reason,
            capture_before_ms: rare.capture_before_ms,
            challenge: Cow::Borrowed(&rare.challenge),
            dispute_plan: rare.dispute_plan,
            dispute: Cow::Borrowed(&rare.dispute),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Payment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Payment, D::Error> {
        let form = Form::deserialize(d)?;
        let rare = RareFields {
            refunds: form.refunds.into_owned(),
            canceled_at: form.canceled_at,
            cancellation_reason: form.cancellation_reason,
            capture_before_ms: form.capture_before_ms,
            challenge: form.challenge.into_owned(),
            dispute_plan: form.dispute_plan,
            dispute: form.dispute.into_owned(),
        };
        Ok(Payment {
            id: form.id,
            merchant: form.merchant,
            status: form.status,
            amount: form.amount,
            amount_capturable: form.amount_capturable,
            amount_captured: form.amount_captured,
            amount_refunded: form.amount_refunded,
            currency: form.currency,
            reference: form.reference.into_owned(),
            created: form.created,
            payment_method: form.payment_method.into_owned(),
            decline_code: form.decline_code,
            metadata: form.metadata.into_owned(),
            capture_method: form.capture_method,
            confirmed_at: form.confirmed_at.into(),
            rare: Rare::of(rare),
        })
    }
}

/// Serde for a payment's challenge, whose `&'static str` fields (which query parameter and
/// id prefix the buyer returns with) are a handful of constants, interned back on the way in.
mod challenge_form {
    use std::borrow::Cow;
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex, OnceLock};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::super::payment::Challenge;

    #[derive(Serialize, Deserialize)]
    struct Form {
        url: Arc<str>,
        return_url: Option<Arc<str>>,
        return_param: String,
        return_id_prefix: String,
        // Absent in journals written before challenges had attempts: the first one.
        #[serde(default = "first_attempt")]
        attempt: u32,
        #[serde(default)]
        abandon_at_ms: u64,
    }

    fn first_attempt() -> u32 {
        1
    }

    pub fn serialize<S: Serializer>(
        value: &Option<Box<Challenge>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_deref()
            .map(|c| Form {
                url: c.url.clone(),
                return_url: c.return_url.clone(),
                return_param: c.return_param.to_string(),
                return_id_prefix: c.return_id_prefix.to_string(),
                attempt: c.attempt,
                abandon_at_ms: c.abandon_at_ms,
            })
            .serialize(s)
    }

    pub fn deserialize<'de, 'a, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Cow<'a, Option<Box<Challenge>>>, D::Error> {
        let Some(form) = Option::<Form>::deserialize(d)? else {
            return Ok(Cow::Owned(None));
        };
        Ok(Cow::Owned(Some(Box::new(Challenge {
            url: form.url,
            return_url: form.return_url,
            return_param: intern(form.return_param).map_err(serde::de::Error::custom)?,
            return_id_prefix: intern(form.return_id_prefix).map_err(serde::de::Error::custom)?,
            attempt: form.attempt,
            abandon_at_ms: form.abandon_at_ms,
        }))))
    }

    fn intern(text: String) -> Result<&'static str, &'static str> {
        /// Past this many distinct values the journal is not ours; refuse it rather
        /// than grow without bound.
        const MAX: usize = 64;
        static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let mut seen = SEEN
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(known) = seen.get(text.as_str()) {
            return Ok(known);
        }
        if seen.len() >= MAX {
            return Err("too many distinct return parameters");
        }
        let leaked: &'static str = Box::leak(text.into_boxed_str());
        seen.insert(leaked);
        Ok(leaked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{engine, new_payment};
    use crate::engine::{Cause, Engine};

    /// The names every journal and snapshot has written a payment's fields under.
    const FIELDS: [&str; 22] = [
        "id",
        "merchant",
        "status",
        "amount",
        "amount_capturable",
        "amount_captured",
        "amount_refunded",
        "currency",
        "reference",
        "created",
        "payment_method",
        "decline_code",
        "metadata",
        "refunds",
        "capture_method",
        "confirmed_at",
        "canceled_at",
        "cancellation_reason",
        "capture_before_ms",
        "challenge",
        "dispute_plan",
        "dispute",
    ];

    /// A payment charged at once for merchant `sk_form` of engine `e`.
    fn charged(e: &Engine, amount: i64, reference: &str) -> Payment {
        let m = e.merchant("sk_form");
        e.create_payment(
            m,
            new_payment(amount, true, reference),
            &Cause::none(),
            None,
        )
        .expect("a valid payment")
    }

    #[test]
    fn a_payment_is_written_flat_under_its_old_names_and_reads_back_equal() {
        let e = engine();
        let m = e.merchant("sk_form");
        let plain = charged(&e, 1200, "form-1");
        let refunded = charged(&e, 900, "form-2");
        let id = refunded.id.to_string();
        let (_, refunded) = e
            .refund(m, &id, Some(300), &Cause::none())
            .expect("a refund");
        assert_eq!(refunded.rare.refunds.len(), 1);

        for payment in [&plain, &refunded] {
            let json = serde_json::to_value(payment).expect("writes");
            let names: Vec<&str> = json
                .as_object()
                .expect("a map")
                .keys()
                .map(String::as_str)
                .collect();
            let mut expected = FIELDS.to_vec();
            expected.sort_unstable();
            assert_eq!(names, expected, "flat, no `rare`");
            let back: Payment = serde_json::from_value(json).expect("reads");
            assert_eq!(&back, payment);

            let packed = rmp_serde::to_vec_named(payment).expect("writes");
            let back: Payment = rmp_serde::from_slice(&packed).expect("reads");
            assert_eq!(&back, payment);
        }
        assert_eq!(
            serde_json::to_value(&refunded).unwrap()["refunds"][0]["amount"],
            300
        );
    }

    #[test]
    fn a_payment_with_none_of_the_rare_fields_set_reads_back_without_their_box() {
        let mut plain = charged(&engine(), 1200, "form-3");
        assert!(plain.rare.get_mut().is_none(), "a plain charge sets none");
        let packed = rmp_serde::to_vec_named(&plain).expect("writes");
        let mut back: Payment = rmp_serde::from_slice(&packed).expect("reads");
        assert!(back.rare.get_mut().is_none(), "nothing allocated");
    }
}
