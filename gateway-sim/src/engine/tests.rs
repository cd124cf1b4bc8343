//! Unit tests of the payment state machine and the ledger it writes.

use std::sync::Arc;
use std::time::Duration;

use super::idempotency::Claim;
use super::money::{Currency, MAX_AMOUNT};
use super::*;

pub(super) fn engine() -> Engine {
    Engine::new(Duration::from_secs(24 * 3600))
}

pub(super) fn new_payment(amount: i64, capture: bool, reference: &str) -> NewPayment {
    NewPayment {
        amount,
        currency: Currency::parse("usd").expect("usd is a currency"),
        payment_method: PaymentMethod::Token(Arc::from("pm_card_visa")),
        capture,
        reference: Some(reference.to_string()),
        metadata: None,
        return_to: Default::default(),
    }
}

fn kinds(e: &Engine) -> Vec<(EntryKind, i64)> {
    e.ledger_entries()
        .iter()
        .map(|x| (x.kind, x.amount))
        .collect()
}

#[test]
fn a_charge_is_an_authorization_then_a_capture_in_the_ledger() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_payment(m, new_payment(1000, true, "order-1"), &Cause::none(), None)
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!((p.amount_captured, p.amount_capturable), (1000, 0));
    assert_eq!(
        kinds(&e),
        vec![(EntryKind::Authorization, 1000), (EntryKind::Capture, 1000)]
    );
    let entries = e.ledger_entries();
    assert_eq!(entries[0].seq, 1);
    assert_eq!(entries[1].seq, 2);
    assert_eq!(entries[1].reference.as_deref(), Some("order-1"));
    assert_eq!(entries[1].merchant, "sk_a");
    assert_eq!(entries[1].payment_id, p.id.to_string());
}

#[test]
fn partial_capture_releases_the_rest_and_only_once() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_payment(m, new_payment(1000, false, "o"), &Cause::none(), None)
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresCapture);
    let id = p.id.to_string();
    assert_eq!(
        e.capture(m, &id, Some(1001), &Cause::none()),
        Err(EngineError::AmountTooLarge {
            requested: 1001,
            available: 1000
        })
    );
    let p = e.capture(m, &id, Some(600), &Cause::none()).unwrap();
    assert_eq!(
        (p.status, p.amount_captured, p.amount_capturable),
        (PaymentStatus::Succeeded, 600, 0)
    );
    assert!(matches!(
        e.capture(m, &id, None, &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
    assert_eq!(
        kinds(&e),
        vec![
            (EntryKind::Authorization, 1000),
            (EntryKind::Capture, 600),
            (EntryKind::Release, 400)
        ]
    );
}

#[test]
fn cancel_releases_an_authorization_but_not_a_capture() {
    let e = engine();
    let m = e.merchant("sk_a");
    let auth = e
        .create_payment(m, new_payment(500, false, "a"), &Cause::none(), None)
        .unwrap();
    let charge = e
        .create_payment(m, new_payment(700, true, "b"), &Cause::none(), None)
        .unwrap();
    let canceled = e.cancel(m, &auth.id.to_string(), &Cause::none()).unwrap();
    assert_eq!(
        (canceled.status, canceled.amount_capturable),
        (PaymentStatus::Canceled, 0)
    );
    assert!(matches!(
        e.cancel(m, &charge.id.to_string(), &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
    assert!(matches!(
        e.cancel(m, &auth.id.to_string(), &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
    assert_eq!(e.stats().released_amount, 500);
}

#[test]
fn refunds_are_partial_several_and_never_more_than_captured() {
    let e = engine();
    let m = e.merchant("sk_a");
    let auth = e
        .create_payment(m, new_payment(900, false, "a"), &Cause::none(), None)
        .unwrap();
    assert!(
        matches!(
            e.refund(m, &auth.id.to_string(), None, &Cause::none()),
            Err(EngineError::InvalidState(_))
        ),
        "an authorization cannot be refunded"
    );
    let p = e
        .create_payment(m, new_payment(1000, true, "b"), &Cause::none(), None)
        .unwrap();
    let id = p.id.to_string();
    let (r1, _) = e.refund(m, &id, Some(300), &Cause::none()).unwrap();
    assert_eq!(r1.amount, 300);
    assert_eq!(
        e.refund(m, &id, Some(701), &Cause::none()).unwrap_err(),
        EngineError::AmountTooLarge {
            requested: 701,
            available: 700
        }
    );
    let (r2, p) = e.refund(m, &id, None, &Cause::none()).unwrap();
    assert_eq!(r2.amount, 700, "no amount refunds what is left");
    assert_eq!((p.amount_refunded, p.rare.refunds.len()), (1000, 2));
    assert!(matches!(
        e.refund(m, &id, Some(1), &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
    assert_eq!(
        e.refund(m, &id, Some(0), &Cause::none()).unwrap_err(),
        EngineError::InvalidState(format!("payment {id} is already fully refunded"))
    );
}

#[test]
fn concurrent_refunds_never_exceed_the_capture() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_payment(m, new_payment(1000, true, "c"), &Cause::none(), None)
        .unwrap();
    let id = p.id.to_string();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (e, id) = (e.clone(), id.clone());
            std::thread::spawn(move || {
                (0..50)
                    .filter(|_| e.refund(m, &id, Some(7), &Cause::none()).is_ok())
                    .count()
            })
        })
        .collect();
    let succeeded: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        succeeded,
        1000 / 7,
        "exactly as many 7-unit refunds as fit in 1000"
    );
    let p = e.payment(m, &id).unwrap();
    assert_eq!(p.amount_refunded, 7 * (1000 / 7));
    let refunded: i64 = e
        .ledger_entries()
        .iter()
        .filter(|x| x.kind == EntryKind::Refund)
        .map(|x| x.amount)
        .sum();
    assert_eq!(
        refunded, p.amount_refunded,
        "the ledger agrees with the payment"
    );
}

#[test]
fn a_decline_is_kept_as_failed_and_moves_no_money() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_payment(
            m,
            new_payment(1000, true, "d"),
            &Cause::none(),
            Some("insufficient_funds"),
        )
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Failed);
    assert_eq!(p.decline_code.as_deref(), Some("insufficient_funds"));
    assert_eq!((p.amount_captured, p.amount_capturable), (0, 0));
    let entries = e.ledger_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].kind, entries[0].amount),
        (EntryKind::Decline, 0)
    );
    assert_eq!(
        entries[0].decline_code.as_deref(),
        Some("insufficient_funds")
    );
    assert!(matches!(
        e.capture(m, &p.id.to_string(), None, &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
}

#[test]
fn merchants_cannot_see_or_touch_each_others_payments() {
    let e = engine();
    let (a, b) = (e.merchant("sk_a"), e.merchant("sk_b"));
    let p = e
        .create_payment(
            a,
            new_payment(1000, false, "shared-ref"),
            &Cause::none(),
            None,
        )
        .unwrap();
    let id = p.id.to_string();
    assert!(matches!(
        e.payment(b, &id),
        Err(EngineError::NoSuchPayment(_))
    ));
    assert!(matches!(
        e.capture(b, &id, None, &Cause::none()),
        Err(EngineError::NoSuchPayment(_))
    ));
    assert!(e.payments_by_reference(b, "shared-ref").is_empty());
    assert_eq!(e.payments_by_reference(a, "shared-ref").len(), 1);
    assert!(e.payment(a, &id).is_ok());
}

#[test]
fn the_operator_finds_any_merchants_payment_and_its_ledger_entries() {
    let e = engine();
    let (a, b) = (e.merchant("sk_a"), e.merchant("sk_b"));
    let first = e
        .create_payment(a, new_payment(1000, false, "order-9"), &Cause::none(), None)
        .unwrap();
    let other = e
        .create_payment(b, new_payment(500, true, "order-9"), &Cause::none(), None)
        .unwrap();
    e.capture(a, &first.id.to_string(), Some(600), &Cause::none())
        .unwrap();
    assert_eq!(
        e.find_payment(&other.id.to_string()).map(|p| p.merchant),
        Some(b)
    );
    assert!(e.find_payment("pay_nothing").is_none());
    let found: Vec<ids::PaymentId> = e
        .find_payments_by_reference("order-9")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(found, [first.id, other.id], "merchant by merchant");
    assert!(e.find_payments_by_reference("order-0").is_empty());
    let entries: Vec<(u64, EntryKind, i64)> = e
        .ledger_entries_of(first.id)
        .iter()
        .map(|x| (x.seq, x.kind, x.amount))
        .collect();
    assert_eq!(
        entries,
        [
            (1, EntryKind::Authorization, 1000),
            (4, EntryKind::Capture, 600),
            (5, EntryKind::Release, 400)
        ],
        "the other merchant's authorization and capture (2, 3) are not this payment's"
    );
}

#[test]
fn invalid_amounts_change_nothing() {
    let e = engine();
    let m = e.merchant("sk_a");
    for amount in [0, -5, MAX_AMOUNT + 1] {
        assert_eq!(
            e.create_payment(m, new_payment(amount, true, "x"), &Cause::none(), None),
            Err(EngineError::InvalidAmount)
        );
    }
    assert!(e.ledger_entries().is_empty());
    assert_eq!(e.stats().payments, 0);
}

#[test]
fn stats_count_by_status_and_reset_forgets_everything() {
    let e = engine();
    let m = e.merchant("sk_a");
    e.create_payment(m, new_payment(100, true, "a"), &Cause::none(), None)
        .unwrap();
    let auth = e
        .create_payment(m, new_payment(200, false, "b"), &Cause::none(), None)
        .unwrap();
    e.create_payment(
        m,
        new_payment(300, true, "c"),
        &Cause::none(),
        Some("generic_decline"),
    )
    .unwrap();
    e.capture(m, &auth.id.to_string(), Some(150), &Cause::none())
        .unwrap();
    let s = e.stats();
    assert_eq!(
        (s.payments, s.succeeded, s.failed, s.requires_capture),
        (3, 2, 1, 0)
    );
    assert_eq!(
        (s.authorized_amount, s.captured_amount, s.released_amount),
        (300, 250, 50)
    );
    e.reset();
    assert_eq!(e.stats(), LedgerStats::default());
    assert!(e.payments_by_reference(m, "a").is_empty());
}

#[test]
fn advancing_the_clock_expires_idempotency_keys() {
    let e = Engine::new(Duration::from_secs(60));
    let m = e.merchant("sk_a");
    let Claim::Proceed(r) = e.claim_idempotency_key(m, "k", 1) else {
        panic!("first use proceeds")
    };
    r.complete(idempotency::StoredResponse {
        status: 200,
        body: Box::from(&b"{}"[..]),
    });
    assert!(e.idempotency_key_state(m, "k").is_some());
    let before = e.clock().now_ms();
    e.advance_clock(Duration::from_secs(61));
    assert!(e.clock().now_ms() >= before + 61_000);
    assert_eq!(e.idempotency_key_state(m, "k"), None);
}

#[test]
fn the_clock_saturates_instead_of_wrapping_into_the_past() {
    let e = engine();
    let before = e.clock().now_ms();
    // A jump of u64::MAX seconds once wrapped simulator time a second backwards.
    e.advance_clock(Duration::from_secs(u64::MAX));
    assert_eq!(e.clock().now_ms(), u64::MAX);
    e.advance_clock(Duration::from_secs(1));
    assert!(e.clock().now_ms() >= before);
}

// ---- payments authorized in a second step (PaymentIntents) ---------------------------

fn pending(amount: i64, method: Option<&str>, capture_method: CaptureMethod) -> NewPendingPayment {
    NewPendingPayment {
        amount,
        currency: Currency::parse("usd").expect("usd is a currency"),
        payment_method: method.map(|m| PaymentMethod::Token(Arc::from(m))),
        capture_method,
        reference: None,
        metadata: None,
    }
}

fn visa() -> Option<PaymentMethod> {
    Some(PaymentMethod::Token(Arc::from("pm_card_visa")))
}

#[test]
fn a_pending_payment_moves_no_money_until_confirmed() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_pending_payment(
            m,
            pending(1000, None, CaptureMethod::Automatic),
            &Cause::none(),
        )
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresPaymentMethod);
    assert!(p.payment_method.is_none());
    assert_eq!(p.confirmed_at.get(), None);
    assert!(e.ledger_entries().is_empty(), "nothing authorized yet");
    let id = p.id.to_string();
    assert!(
        matches!(
            e.confirm(m, &id, None, &Cause::none(), None),
            Err(EngineError::InvalidState(_))
        ),
        "no payment method to confirm with"
    );
    let key = SharedStr::from("k-confirm");
    let p = e
        .confirm(m, &id, visa(), &Cause::with_key(&key), None)
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(p.amount_captured, 1000);
    assert!(p.confirmed_at.is_some());
    assert_eq!(
        kinds(&e),
        vec![(EntryKind::Authorization, 1000), (EntryKind::Capture, 1000)]
    );
    assert!(
        e.ledger_entries()
            .iter()
            .all(|x| x.idempotency_key.as_deref() == Some("k-confirm"))
    );
    assert!(
        matches!(
            e.confirm(m, &id, visa(), &Cause::none(), None),
            Err(EngineError::InvalidState(_))
        ),
        "a succeeded payment cannot be confirmed again"
    );
    assert_eq!(e.ledger_len(), 2, "the refused confirmation moved nothing");
}

#[test]
fn manual_capture_confirms_to_an_authorization_with_the_attached_method() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_pending_payment(
            m,
            pending(800, Some("pm_card_mastercard"), CaptureMethod::Manual),
            &Cause::none(),
        )
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresConfirmation);
    let id = p.id.to_string();
    assert_eq!(
        e.confirmation_preview(m, &id, None),
        Some((800, PaymentMethod::Token(Arc::from("pm_card_mastercard"))))
    );
    let p = e.confirm(m, &id, None, &Cause::none(), None).unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresCapture);
    assert_eq!((p.amount_capturable, p.amount_captured), (800, 0));
    assert_eq!(
        e.confirmation_preview(m, &id, None),
        None,
        "already authorized"
    );
    let p = e.capture(m, &id, Some(500), &Cause::none()).unwrap();
    assert_eq!(
        (p.status, p.amount_captured),
        (PaymentStatus::Succeeded, 500)
    );
    assert_eq!(
        kinds(&e),
        vec![
            (EntryKind::Authorization, 800),
            (EntryKind::Capture, 500),
            (EntryKind::Release, 300)
        ]
    );
}

#[test]
fn a_declined_confirmation_can_be_retried_only_with_a_new_method() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_pending_payment(
            m,
            pending(
                600,
                Some("pm_card_chargeDeclined"),
                CaptureMethod::Automatic,
            ),
            &Cause::none(),
        )
        .unwrap();
    let id = p.id.to_string();
    let p = e
        .confirm(m, &id, None, &Cause::none(), Some("generic_decline"))
        .unwrap();
    assert_eq!(p.status, PaymentStatus::Failed);
    assert_eq!(p.decline_code.as_deref(), Some("generic_decline"));
    assert_eq!(
        e.confirmation_preview(m, &id, None),
        None,
        "the declined method is not retried behind the caller's back"
    );
    assert!(matches!(
        e.confirm(m, &id, None, &Cause::none(), None),
        Err(EngineError::InvalidState(_))
    ));
    let p = e.confirm(m, &id, visa(), &Cause::none(), None).unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(p.decline_code, None, "an approved retry clears the decline");
    assert_eq!(
        kinds(&e),
        vec![
            (EntryKind::Decline, 0),
            (EntryKind::Authorization, 600),
            (EntryKind::Capture, 600)
        ]
    );
    let s = e.stats();
    assert_eq!((s.failed, s.succeeded, s.payments), (0, 1, 1));
}

#[test]
fn updates_change_terms_before_authorization_and_metadata_always() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_pending_payment(
            m,
            pending(1000, None, CaptureMethod::Automatic),
            &Cause::none(),
        )
        .unwrap();
    let id = p.id.to_string();
    let p = e
        .update_payment(
            m,
            &id,
            PaymentUpdate {
                amount: Some(1500),
                payment_method: visa(),
                capture_method: Some(CaptureMethod::Manual),
                metadata: Some(MetadataPatch {
                    clear: false,
                    set: vec![
                        ("order".into(), Some("7".into())),
                        ("tmp".into(), Some("x".into())),
                    ],
                }),
                ..PaymentUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresConfirmation);
    assert_eq!((p.amount, p.capture_method), (1500, CaptureMethod::Manual));
    assert_eq!(p.metadata.as_deref(), Some(r#"{"order":"7","tmp":"x"}"#));
    assert_eq!(
        e.update_payment(
            m,
            &id,
            PaymentUpdate {
                amount: Some(0),
                ..PaymentUpdate::default()
            }
        ),
        Err(EngineError::InvalidAmount)
    );
    e.confirm(m, &id, None, &Cause::none(), None).unwrap();
    assert!(matches!(
        e.update_payment(
            m,
            &id,
            PaymentUpdate {
                amount: Some(10),
                ..PaymentUpdate::default()
            }
        ),
        Err(EngineError::InvalidState(_))
    ));
    let p = e
        .update_payment(
            m,
            &id,
            PaymentUpdate {
                metadata: Some(MetadataPatch {
                    clear: false,
                    set: vec![("tmp".into(), None)],
                }),
                ..PaymentUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(p.metadata.as_deref(), Some(r#"{"order":"7"}"#));
    assert_eq!(
        (p.amount, p.amount_capturable),
        (1500, 1500),
        "authorized terms stand"
    );
    let p = e
        .update_payment(
            m,
            &id,
            PaymentUpdate {
                metadata: Some(MetadataPatch {
                    clear: true,
                    set: vec![],
                }),
                ..PaymentUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(p.metadata, None);
}

#[test]
fn canceling_an_unconfirmed_payment_releases_nothing_and_a_declined_one_needs_abandon() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_pending_payment(
            m,
            pending(400, Some("pm_card_visa"), CaptureMethod::Manual),
            &Cause::none(),
        )
        .unwrap();
    let p = e.cancel(m, &p.id.to_string(), &Cause::none()).unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert!(p.rare.canceled_at.is_some());
    assert!(e.ledger_entries().is_empty(), "nothing was authorized");

    let declined = e
        .create_payment(
            m,
            new_payment(300, true, "d"),
            &Cause::none(),
            Some("fraudulent"),
        )
        .unwrap();
    let id = declined.id.to_string();
    assert!(
        matches!(
            e.cancel(m, &id, &Cause::none()),
            Err(EngineError::InvalidState(_))
        ),
        "the native API keeps a declined payment final"
    );
    let p = e.cancel_or_abandon(m, &id, &Cause::none()).unwrap();
    assert_eq!(p.status, PaymentStatus::Canceled);
    assert_eq!(kinds(&e), vec![(EntryKind::Decline, 0)]);
    assert!(matches!(
        e.cancel_or_abandon(m, &id, &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
}

#[test]
fn refunds_are_found_by_id_by_their_merchant_only() {
    let e = engine();
    let (a, b) = (e.merchant("sk_a"), e.merchant("sk_b"));
    let p = e
        .create_payment(a, new_payment(1000, true, "r"), &Cause::none(), None)
        .unwrap();
    let (refund, _) = e
        .refund(a, &p.id.to_string(), Some(250), &Cause::none())
        .unwrap();
    assert_eq!(refund.currency.as_str(), "usd");
    let (found, payment) = e.refund_by_id(a, &refund.id.to_string()).unwrap();
    assert_eq!((found, payment.amount_refunded), (refund.clone(), 250));
    assert_eq!(e.refund_by_id(b, &refund.id.to_string()), None);
    assert_eq!(e.refund_by_id(a, "re_nope"), None);
    assert_eq!(
        e.refund_by_id(a, &p.id.to_string()),
        None,
        "a payment id is not a refund id"
    );
}

#[test]
fn listing_pages_newest_first_in_both_directions() {
    let e = engine();
    let (m, other) = (e.merchant("sk_a"), e.merchant("sk_b"));
    let mut ids = Vec::new();
    for i in 0..5 {
        let p = if i == 2 {
            e.create_pending_payment(
                m,
                pending(100, None, CaptureMethod::Automatic),
                &Cause::none(),
            )
        } else {
            e.create_payment(m, new_payment(100 + i, true, "l"), &Cause::none(), None)
        };
        ids.push(p.unwrap().id.to_string());
        e.create_payment(other, new_payment(1, true, "o"), &Cause::none(), None)
            .unwrap();
    }
    let page = |limit, cursor, confirmed_only| {
        e.list_payments(
            m,
            &PageQuery {
                limit,
                cursor,
                confirmed_only,
            },
        )
        .map(|list| list.iter().map(|p| p.id.to_string()).collect::<Vec<_>>())
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(page(10, Cursor::Newest, false).unwrap(), newest_first);
    assert_eq!(page(2, Cursor::Newest, false).unwrap(), newest_first[..2]);
    assert_eq!(
        page(2, Cursor::OlderThan(ids[3].clone()), false).unwrap(),
        vec![ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        page(2, Cursor::NewerThan(ids[1].clone()), false).unwrap(),
        vec![ids[3].clone(), ids[2].clone()],
        "the nearest newer ones, still newest first"
    );
    assert_eq!(
        page(10, Cursor::Newest, true).unwrap(),
        vec![
            ids[4].clone(),
            ids[3].clone(),
            ids[1].clone(),
            ids[0].clone()
        ],
        "the unconfirmed payment has no charge"
    );
    assert!(matches!(
        page(2, Cursor::OlderThan("pay_nope".into()), false),
        Err(EngineError::NoSuchPayment(_))
    ));
    let foreign = e
        .list_payments(
            other,
            &PageQuery {
                limit: 1,
                cursor: Cursor::Newest,
                confirmed_only: false,
            },
        )
        .unwrap();
    assert!(
        matches!(
            page(2, Cursor::OlderThan(foreign[0].id.to_string()), false),
            Err(EngineError::NoSuchPayment(_))
        ),
        "another merchant's payment is no cursor"
    );
    e.reset();
    assert_eq!(
        page(10, Cursor::Newest, false).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn stats_count_payments_waiting_for_confirmation() {
    let e = engine();
    let m = e.merchant("sk_a");
    e.create_pending_payment(
        m,
        pending(1, None, CaptureMethod::Automatic),
        &Cause::none(),
    )
    .unwrap();
    let p = e
        .create_pending_payment(
            m,
            pending(1, Some("pm_card_visa"), CaptureMethod::Automatic),
            &Cause::none(),
        )
        .unwrap();
    let s = e.stats();
    assert_eq!(
        (
            s.payments,
            s.requires_payment_method,
            s.requires_confirmation
        ),
        (2, 1, 1)
    );
    e.confirm(m, &p.id.to_string(), None, &Cause::none(), None)
        .unwrap();
    let s = e.stats();
    assert_eq!((s.requires_confirmation, s.succeeded), (0, 1));
}

#[test]
fn every_change_is_recorded_with_its_cause_and_its_snapshot() {
    let e = engine();
    let m = e.merchant("sk_a");
    let key = SharedStr::from("k-auth");
    let cause = Cause::with_key(&key);
    let p = e
        .create_payment(m, new_payment(1000, false, "o-events"), &cause, None)
        .unwrap();
    let raised = cause.take_raised();
    // One change says both: created, and authorized in the same step.
    assert_eq!(raised.len(), 1);
    assert_eq!(
        (raised[0].kind, raised[0].created),
        (ChangeKind::Authorized, true)
    );
    let at_creation = e.payment_at(&raised[0], true).unwrap();
    assert_eq!(
        (at_creation.status, at_creation.amount_capturable),
        (PaymentStatus::RequiresConfirmation, 0)
    );
    let authorized = e.payment_at(&raised[0], false).unwrap();
    assert_eq!(
        (authorized.status, authorized.amount_capturable),
        (PaymentStatus::RequiresCapture, 1000)
    );
    assert_eq!(
        raised[0]
            .request
            .as_ref()
            .unwrap()
            .idempotency_key
            .as_deref(),
        Some("k-auth")
    );
    assert!(cause.take_raised().is_empty(), "handed over once");

    let id = p.id.to_string();
    let capture = Cause::none();
    e.capture(m, &id, Some(600), &capture).unwrap();
    let refund = Cause::none();
    e.refund(m, &id, Some(100), &refund).unwrap();
    e.refund(m, &id, Some(50), &Cause::none()).unwrap();
    let captured = capture.take_raised();
    assert_eq!(captured[0].kind, ChangeKind::Captured);
    let then = e.payment_at(&captured[0], false).unwrap();
    assert_eq!(
        (
            then.amount_captured,
            then.amount_refunded,
            then.rare.refunds.len()
        ),
        (600, 0, 0),
        "the payment as it was, not as it is now"
    );
    assert!(captured[0].request.is_none());
    let refunded = refund.take_raised();
    assert_eq!(e.refund_at(&refunded[0]).map(|r| r.amount), Some(100));
    assert_eq!(
        e.payment_at(&refunded[0], false).unwrap().amount_refunded,
        100
    );

    // Newest first, per merchant; another merchant's log is its own.
    let mut seen = Vec::new();
    e.changes_newest_first(m, None, |c| {
        seen.push(c.kind);
        true
    });
    assert_eq!(
        seen,
        [
            ChangeKind::Refunded,
            ChangeKind::Refunded,
            ChangeKind::Captured,
            ChangeKind::Authorized
        ]
    );
    let other = e.merchant("sk_b");
    let mut none = 0;
    e.changes_newest_first(other, None, |_| {
        none += 1;
        true
    });
    assert_eq!(none, 0);
    // A refused operation records nothing.
    let refused = Cause::none();
    assert!(e.capture(m, &id, None, &refused).is_err());
    assert!(refused.take_raised().is_empty());
}

#[test]
fn a_long_history_is_visited_newest_first_across_chunks() {
    let e = engine();
    let m = e.merchant("sk_long");
    let other = e.merchant("sk_other");
    for n in 0..700 {
        let merchant = if n % 7 == 0 { other } else { m };
        e.create_payment(
            merchant,
            new_payment(100 + n, true, "o"),
            &Cause::none(),
            None,
        )
        .unwrap();
    }
    let mut seqs = Vec::new();
    e.changes_newest_first(m, None, |c| {
        assert_eq!(c.merchant, m);
        seqs.push(c.seq);
        true
    });
    assert_eq!(seqs.len(), 600);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first"
    );
    // From a cursor, only older ones; and a visit that stops, stops.
    let mut older = Vec::new();
    e.changes_newest_first(m, Some(seqs[300]), |c| {
        older.push(c.seq);
        older.len() < 10
    });
    assert_eq!(older, seqs[301..311]);
}

#[test]
fn an_expired_authorization_is_released_once_with_its_reason_and_its_change() {
    let e = engine();
    e.set_authorization_validity(Duration::from_secs(3600));
    let m = e.merchant("sk_expiry");
    let p = e
        .create_payment(m, new_payment(900, false, "order-x"), &Cause::none(), None)
        .unwrap();
    let id = p.id.to_string();
    assert!(p.rare.capture_before_ms.is_some());
    assert!(e.expire_due_authorizations().is_empty(), "not due yet");

    e.advance_clock(Duration::from_secs(3601));
    let raised = e.expire_due_authorizations();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, ChangeKind::Expired);
    assert!(
        raised[0].request.is_none(),
        "the gateway did it, no request"
    );
    assert!(e.expire_due_authorizations().is_empty(), "expired once");

    let after = e.payment(m, &id).unwrap();
    assert_eq!(after.status, PaymentStatus::Canceled);
    assert_eq!(
        after.rare.cancellation_reason,
        Some(CancellationReason::Expired)
    );
    let last = e.ledger_entries().pop().unwrap();
    assert_eq!(
        (last.kind, last.amount, last.reason),
        (EntryKind::Release, 900, Some(EntryReason::Expired))
    );
    let key = SharedStr::from("late");
    assert!(matches!(
        e.capture(m, &id, None, &Cause::with_key(&key)),
        Err(EngineError::InvalidState(_))
    ));
    assert_eq!(e.ledger_len(), 2);
}

/// A capture that arrives after the validity but before any sweep must not win:
/// it expires the authorization under the lock and is refused.
#[test]
fn a_capture_racing_the_sweep_never_takes_an_expired_authorization() {
    let e = engine();
    e.set_authorization_validity(Duration::from_secs(60));
    let m = e.merchant("sk_race");
    let p = e
        .create_payment(m, new_payment(500, false, "order-r"), &Cause::none(), None)
        .unwrap();
    e.advance_clock(Duration::from_secs(61));
    let refused = e.capture(m, &p.id.to_string(), None, &Cause::none());
    assert!(matches!(refused, Err(EngineError::InvalidState(ref why)) if why.contains("expired")));
    assert_eq!(
        kinds(&e),
        [(EntryKind::Authorization, 500), (EntryKind::Release, 500)]
    );
    // The expiry's change waited for the next sweep to be delivered.
    let raised = e.expire_due_authorizations();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, ChangeKind::Expired);
}

#[test]
fn a_challenged_payment_moves_money_only_once_the_buyer_completes_it() {
    let e = engine();
    let m = e.merchant("sk_3ds");
    let p = e
        .create_payment_with(
            m,
            new_payment(1200, true, "order-3ds"),
            &Cause::none(),
            Verdict::Authenticate,
        )
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresAction);
    assert!(p.rare.challenge.is_some());
    assert!(kinds(&e).is_empty());
    let id = p.id.to_string();
    let done = e
        .complete_authentication(&id, AuthenticationOutcome::Complete, &Cause::none())
        .unwrap();
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert_eq!(
        kinds(&e),
        [(EntryKind::Authorization, 1200), (EntryKind::Capture, 1200)]
    );
    assert!(matches!(
        e.complete_authentication(&id, AuthenticationOutcome::Fail, &Cause::none()),
        Err(EngineError::InvalidState(_))
    ));
    assert!(matches!(
        e.complete_authentication("pay_nothing", AuthenticationOutcome::Fail, &Cause::none()),
        Err(EngineError::NoSuchPayment(_))
    ));
}

fn dispute_card(inquiry: bool) -> Verdict<'static> {
    Verdict::Dispute(DisputePlan {
        reason: DisputeReason::Fraudulent,
        inquiry,
    })
}

#[test]
fn a_dispute_takes_back_only_what_was_captured_and_not_refunded() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_payment_with(
            m,
            new_payment(1000, true, "o"),
            &Cause::none(),
            dispute_card(false),
        )
        .unwrap();
    let id = p.id.to_string();
    e.refund(m, &id, Some(300), &Cause::none()).unwrap();
    e.advance_clock(Duration::from_secs(24 * 3600));
    assert_eq!(e.expire_due_authorizations().len(), 1, "dispute created");
    let p = e.payment(m, &id).unwrap();
    let d = p.rare.dispute.as_deref().expect("disputed");
    assert_eq!((d.amount, d.status), (700, DisputeStatus::NeedsResponse));
    assert_eq!(kinds(&e).last(), Some(&(EntryKind::Dispute, 700)));
    // Refused while open, and nothing changes.
    let refused = e.refund(m, &id, Some(1), &Cause::none());
    assert!(
        matches!(refused, Err(EngineError::Disputed(_))),
        "{refused:?}"
    );
    // Accepted: lost, and nothing is left to refund.
    let dp = d.id.to_string();
    e.close_dispute(m, &dp, &Cause::none()).unwrap();
    assert!(e.refund(m, &id, None, &Cause::none()).is_err());
    assert!(
        e.close_dispute(m, &dp, &Cause::none()).is_err(),
        "closed once"
    );
    assert_eq!(kinds(&e).len(), 4);
}

#[test]
fn a_fully_refunded_or_uncaptured_payment_is_never_disputed() {
    let e = engine();
    let m = e.merchant("sk_a");
    let refunded = e
        .create_payment_with(
            m,
            new_payment(500, true, "r"),
            &Cause::none(),
            dispute_card(false),
        )
        .unwrap();
    e.refund(m, &refunded.id.to_string(), None, &Cause::none())
        .unwrap();
    let authorized = e
        .create_payment_with(
            m,
            new_payment(500, false, "a"),
            &Cause::none(),
            dispute_card(true),
        )
        .unwrap();
    e.advance_clock(Duration::from_secs(2 * 24 * 3600));
    e.expire_due_authorizations();
    assert!(e.disputes_of(m, None).is_empty());
    // Captured later, it is disputed a day after its capture: an inquiry moves nothing.
    let before = kinds(&e).len();
    let id = authorized.id.to_string();
    e.capture(m, &id, None, &Cause::none()).unwrap();
    e.advance_clock(Duration::from_secs(24 * 3600));
    e.expire_due_authorizations();
    let disputed = e.disputes_of(m, Some(&id));
    assert_eq!(disputed.len(), 1);
    assert_eq!(
        disputed[0].rare.dispute.as_deref().unwrap().status,
        DisputeStatus::WarningNeedsResponse
    );
    assert_eq!(kinds(&e).len(), before + 1, "the capture only");
}

/// The records a million payments are made of keep the sizes BENCHMARKS.md's memory table
/// counts on ("Memory per stored payment"): a field added to one of them costs every payment,
/// so it should be a decision, seen here, rather than an accident.
#[test]
fn stored_records_keep_their_size() {
    use std::mem::size_of;
    assert_eq!(size_of::<Payment>(), 120, "Payment");
    assert_eq!(size_of::<Change>(), 144, "Change, as handed out");
    assert_eq!(
        size_of::<events::StoredChange>(),
        120,
        "a change as the log keeps it"
    );
    assert_eq!(size_of::<ledger::Movement>(), 48, "a ledger entry");
    assert_eq!(
        size_of::<operations::ReferencedPayments>(),
        24,
        "a reference's payments"
    );
    assert_eq!(size_of::<Option<decline_code::StoredDeclineCode>>(), 1);
}
