"""The payment lifecycle through the official Stripe SDK, pointed at gateway-sim.

Every check is one a service built on stripe-python relies on: the objects and
statuses it reads, the exceptions it catches, and the money the ledger shows.
"""

import pytest
import stripe


def visa_intent(client, amount, **params):
    return client.v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", **params}
    )


def test_create_then_confirm_charges_the_card(client, ledger_of):
    intent = visa_intent(client, 2000, metadata={"order_id": "o-1"})
    assert intent.object == "payment_intent"
    assert intent.status == "requires_confirmation"
    assert intent.latest_charge is None
    assert ledger_of(intent.id) == [], "nothing moves before confirmation"

    intent = client.v1.payment_intents.confirm(intent.id)
    assert intent.status == "succeeded"
    assert intent.amount_received == 2000
    assert intent.metadata["order_id"] == "o-1"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.object == "charge"
    assert charge.payment_intent == intent.id
    assert (charge.amount_captured, charge.amount_refunded, charge.refunded) == (2000, 0, False)
    assert ledger_of(intent.id) == [("authorization", 2000, None), ("capture", 2000, None)]


def test_create_with_confirm_true_in_one_call(client, ledger_of):
    intent = visa_intent(client, 1234, confirm=True, expand=["latest_charge"])
    assert intent.status == "succeeded"
    assert intent.latest_charge.amount_captured == 1234
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    assert [kind for kind, _, _ in ledger_of(intent.id)] == ["authorization", "capture"]


def test_manual_capture_of_part_of_the_amount(client, ledger_of):
    intent = client.v1.payment_intents.create(
        params={"amount": 5000, "currency": "eur", "capture_method": "manual"}
    )
    assert intent.status == "requires_payment_method"
    intent = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_mastercard"}
    )
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 5000)

    intent = client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 3000})
    assert intent.status == "succeeded"
    assert (intent.amount_received, intent.amount_capturable) == (3000, 0)
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount, charge.amount_captured, charge.captured) == (5000, 3000, True)
    assert ledger_of(intent.id) == [
        ("authorization", 5000, None),
        ("capture", 3000, None),
        ("release", 2000, None),
    ]

    with pytest.raises(stripe.InvalidRequestError) as captured_twice:
        client.v1.payment_intents.capture(intent.id)
    assert captured_twice.value.http_status == 400
    assert captured_twice.value.code == "payment_intent_unexpected_state"
    assert len(ledger_of(intent.id)) == 3, "the refused capture moved nothing"


def test_cancel_releases_an_authorization(client, ledger_of):
    intent = visa_intent(client, 700, confirm=True, capture_method="manual")
    assert intent.status == "requires_capture"
    canceled = client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status == "canceled"
    assert canceled.canceled_at is not None
    assert ledger_of(intent.id) == [("authorization", 700, None), ("release", 700, None)]

    unconfirmed = visa_intent(client, 300)
    assert client.v1.payment_intents.cancel(unconfirmed.id).status == "canceled"
    assert ledger_of(unconfirmed.id) == [], "nothing was authorized, nothing released"

    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.cancel(intent.id)
    assert again.value.code == "payment_intent_unexpected_state"


def test_partial_refunds_by_payment_intent_and_by_charge(client, ledger_of):
    intent = visa_intent(client, 1000, confirm=True)
    first = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 300})
    second = client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 200})
    assert first.object == "refund" and first.status == "succeeded"
    assert (first.amount, second.amount) == (300, 200)
    assert first.payment_intent == second.payment_intent == intent.id
    assert first.charge == second.charge == intent.latest_charge
    assert client.v1.refunds.retrieve(first.id).amount == 300

    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (500, False)
    listed = client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.id for r in listed.data] == [second.id, first.id], "newest first"

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 501})
    assert too_much.value.code == "amount_too_large"
    assert too_much.value.param == "amount"

    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 500, "no amount: everything left"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    assert [e for e in ledger_of(intent.id) if e[0] == "refund"] == [
        ("refund", 300, None),
        ("refund", 200, None),
        ("refund", 500, None),
    ]


@pytest.mark.parametrize(
    "payment_method, code, decline_code",
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_chargeDeclinedFraudulent", "card_declined", "fraudulent"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
    ],
)
def test_a_declined_card_raises_card_error(client, ledger_of, payment_method, code, decline_code):
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            params={
                "amount": 1500,
                "currency": "usd",
                "payment_method": payment_method,
                "confirm": True,
            }
        )
    error = declined.value
    assert error.http_status == 402
    assert error.code == code
    assert error.error.decline_code == decline_code
    assert error.error.type == "card_error"
    assert error.user_message
    intent = error.error.payment_intent
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == decline_code
    assert ledger_of(intent.id) == [("decline", 0, decline_code)]

    # The customer tries another card on the same PaymentIntent.
    retried = client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded"
    assert retried.last_payment_error is None


def test_an_idempotent_retry_returns_the_same_object_and_charges_once(client, ledger_of):
    params = {"amount": 2500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-77"})
    retry = client.v1.payment_intents.create(params=params, options={"idempotency_key": "order-77"})
    assert retry.id == first.id
    assert retry.to_dict() == first.to_dict()
    assert retry.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert ledger_of(first.id) == [("authorization", 2500, None), ("capture", 2500, None)]


def test_the_same_key_for_a_different_request_raises_idempotency_error(client, api_key, sim):
    params = {"amount": 2500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-1"})
    with pytest.raises(stripe.IdempotencyError) as mismatch:
        client.v1.payment_intents.create(
            params={**params, "amount": 2600}, options={"idempotency_key": "k-1"}
        )
    assert mismatch.value.http_status == 400
    assert mismatch.value.error.code == "idempotency_key_mismatch"
    captures = [e for e in sim.ledger(api_key) if e["kind"] == "capture"]
    assert [(e["payment_id"][4:], e["amount"]) for e in captures] == [(first.id[3:], 2500)]


def test_unknown_objects_and_parameters_raise_invalid_request_error(client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "amout": 1}
        )
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "amout")
    with pytest.raises(stripe.InvalidRequestError) as bogus:
        client.v1.payment_intents.create(
            params={"amount": 100, "currency": "usd", "payment_method": "pm_card_bogus"}
        )
    assert bogus.value.param == "payment_method"


def test_lists_auto_paginate_newest_first(client):
    created = [visa_intent(client, 100 + i, confirm=True).id for i in range(5)]
    page = client.v1.payment_intents.list(params={"limit": 2})
    assert [p.id for p in page.data] == created[::-1][:2]
    assert page.has_more
    assert [p.id for p in page.auto_paging_iter()] == created[::-1]
    charges = client.v1.charges.list(params={"payment_intent": created[0]})
    assert [c.amount for c in charges.data] == [100]


def test_expansions_and_payment_methods(client):
    intent = visa_intent(client, 900, confirm=True, expand=["payment_method", "latest_charge"])
    assert intent.payment_method.card.last4 == "4242"
    assert intent.latest_charge.payment_method_details.card.brand == "visa"
    method = client.v1.payment_methods.retrieve("pm_card_mastercard")
    assert (method.type, method.card.brand) == ("card", "mastercard")


def test_metadata_updates(client):
    intent = client.v1.payment_intents.create(
        params={"amount": 100, "currency": "usd", "metadata": {"a": "1", "b": "2"}}
    )
    updated = client.v1.payment_intents.update(
        intent.id,
        params={"amount": 150, "payment_method": "pm_card_visa", "metadata": {"a": "", "c": "3"}},
    )
    assert updated.status == "requires_confirmation"
    assert updated.amount == 150
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}


def test_module_level_configuration_works_too(sim, api_key, monkeypatch):
    # The older global style: stripe.api_key / stripe.api_base.
    monkeypatch.setattr(stripe, "api_key", api_key)
    monkeypatch.setattr(stripe, "api_base", sim.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    intent = stripe.PaymentIntent.create(
        amount=400, currency="usd", payment_method="pm_card_visa", confirm=True
    )
    assert intent.status == "succeeded"
    refund = stripe.Refund.create(payment_intent=intent.id, amount=100)
    assert refund.amount == 100
    assert stripe.PaymentIntent.retrieve(intent.id).amount_received == 400
