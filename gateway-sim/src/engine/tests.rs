//! Unit tests of the payment state machine and the ledger it writes.

use super::*;

fn engine() -> Engine {
    Engine::new(Duration::from_secs(24 * 3600))
}

fn new_payment(amount: i64, capture: bool, reference: &str) -> NewPayment {
    NewPayment {
        amount,
        currency: Currency::parse("usd").expect("usd is a currency"),
        payment_method: PaymentMethod::Token(Arc::from("pm_card_visa")),
        capture,
        reference: Some(reference.to_string()),
        metadata: None,
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
        .create_payment(m, new_payment(1000, true, "order-1"), None, None)
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
        .create_payment(m, new_payment(1000, false, "o"), None, None)
        .unwrap();
    assert_eq!(p.status, PaymentStatus::RequiresCapture);
    let id = p.id.to_string();
    assert_eq!(
        e.capture(m, &id, Some(1001), None),
        Err(EngineError::AmountTooLarge {
            requested: 1001,
            available: 1000
        })
    );
    let p = e.capture(m, &id, Some(600), None).unwrap();
    assert_eq!(
        (p.status, p.amount_captured, p.amount_capturable),
        (PaymentStatus::Succeeded, 600, 0)
    );
    assert!(matches!(
        e.capture(m, &id, None, None),
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
        .create_payment(m, new_payment(500, false, "a"), None, None)
        .unwrap();
    let charge = e
        .create_payment(m, new_payment(700, true, "b"), None, None)
        .unwrap();
    let canceled = e.cancel(m, &auth.id.to_string(), None).unwrap();
    assert_eq!(
        (canceled.status, canceled.amount_capturable),
        (PaymentStatus::Canceled, 0)
    );
    assert!(matches!(
        e.cancel(m, &charge.id.to_string(), None),
        Err(EngineError::InvalidState(_))
    ));
    assert!(matches!(
        e.cancel(m, &auth.id.to_string(), None),
        Err(EngineError::InvalidState(_))
    ));
    assert_eq!(e.stats().released_amount, 500);
}

#[test]
fn refunds_are_partial_several_and_never_more_than_captured() {
    let e = engine();
    let m = e.merchant("sk_a");
    let auth = e
        .create_payment(m, new_payment(900, false, "a"), None, None)
        .unwrap();
    assert!(
        matches!(
            e.refund(m, &auth.id.to_string(), None, None),
            Err(EngineError::InvalidState(_))
        ),
        "an authorization cannot be refunded"
    );
    let p = e
        .create_payment(m, new_payment(1000, true, "b"), None, None)
        .unwrap();
    let id = p.id.to_string();
    let (r1, _) = e.refund(m, &id, Some(300), None).unwrap();
    assert_eq!(r1.amount, 300);
    assert_eq!(
        e.refund(m, &id, Some(701), None).unwrap_err(),
        EngineError::AmountTooLarge {
            requested: 701,
            available: 700
        }
    );
    let (r2, p) = e.refund(m, &id, None, None).unwrap();
    assert_eq!(r2.amount, 700, "no amount refunds what is left");
    assert_eq!((p.amount_refunded, p.refunds.len()), (1000, 2));
    assert!(matches!(
        e.refund(m, &id, Some(1), None),
        Err(EngineError::InvalidState(_))
    ));
    assert_eq!(
        e.refund(m, &id, Some(0), None).unwrap_err(),
        EngineError::InvalidState(format!("payment {id} is already fully refunded"))
    );
}

#[test]
fn concurrent_refunds_never_exceed_the_capture() {
    let e = engine();
    let m = e.merchant("sk_a");
    let p = e
        .create_payment(m, new_payment(1000, true, "c"), None, None)
        .unwrap();
    let id = p.id.to_string();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (e, id) = (e.clone(), id.clone());
            std::thread::spawn(move || {
                (0..50)
                    .filter(|_| e.refund(m, &id, Some(7), None).is_ok())
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
            None,
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
        e.capture(m, &p.id.to_string(), None, None),
        Err(EngineError::InvalidState(_))
    ));
}

#[test]
fn merchants_cannot_see_or_touch_each_others_payments() {
    let e = engine();
    let (a, b) = (e.merchant("sk_a"), e.merchant("sk_b"));
    let p = e
        .create_payment(a, new_payment(1000, false, "shared-ref"), None, None)
        .unwrap();
    let id = p.id.to_string();
    assert!(matches!(
        e.payment(b, &id),
        Err(EngineError::NoSuchPayment(_))
    ));
    assert!(matches!(
        e.capture(b, &id, None, None),
        Err(EngineError::NoSuchPayment(_))
    ));
    assert!(e.payments_by_reference(b, "shared-ref").is_empty());
    assert_eq!(e.payments_by_reference(a, "shared-ref").len(), 1);
    assert!(e.payment(a, &id).is_ok());
}

#[test]
fn invalid_amounts_change_nothing() {
    let e = engine();
    let m = e.merchant("sk_a");
    for amount in [0, -5, MAX_AMOUNT + 1] {
        assert_eq!(
            e.create_payment(m, new_payment(amount, true, "x"), None, None),
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
    e.create_payment(m, new_payment(100, true, "a"), None, None)
        .unwrap();
    let auth = e
        .create_payment(m, new_payment(200, false, "b"), None, None)
        .unwrap();
    e.create_payment(
        m,
        new_payment(300, true, "c"),
        None,
        Some("generic_decline"),
    )
    .unwrap();
    e.capture(m, &auth.id.to_string(), Some(150), None).unwrap();
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
        body: bytes::Bytes::from_static(b"{}"),
    });
    assert!(e.idempotency_key_state(m, "k").is_some());
    let before = e.clock().now_ms();
    e.advance_clock(Duration::from_secs(61));
    assert!(e.clock().now_ms() >= before + 61_000);
    assert_eq!(e.idempotency_key_state(m, "k"), None);
}
