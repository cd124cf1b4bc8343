"""Stripe Checkout through the official SDK's resource classes
(``stripe.checkout.Session``): a session created, read, listed, paid through
gateway-sim's script endpoint ``POST /_sim/checkout/{id}/pay`` (what the hosted
page's Pay button does), and expired, by request and by the clock.
"""

import json
import urllib.error
import urllib.request

import pytest
import stripe

SUCCESS_URL = "https://shop.example/done?session={CHECKOUT_SESSION_ID}"


@pytest.fixture
def checkout(sim, api_key, monkeypatch):
    """The SDK's global configuration pointed at the simulator, as a service
    using ``stripe.checkout.Session`` would set it."""
    monkeypatch.setattr(stripe, "api_key", api_key)
    monkeypatch.setattr(stripe, "api_base", sim.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return stripe.checkout.Session


def create(session_class, **extra):
    return session_class.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1200,
                    "product_data": {"name": "Mug"},
                },
                "quantity": 3,
            }
        ],
        success_url=SUCCESS_URL,
        cancel_url="https://shop.example/cart",
        client_reference_id="order-5",
        metadata={"cart": "k1"},
        customer_email="buyer@example.com",
        **extra,
    )


def pay(sim, session_id, payment_method):
    """What the page's Pay button does, as a script: JSON in, JSON out."""
    request = urllib.request.Request(
        f"{sim.url}/_sim/checkout/{session_id}/pay",
        data=json.dumps({"payment_method": payment_method}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_session_is_created_listed_and_paid_through_the_script_endpoint(
    sim, checkout, ledger_of
):
    session = create(checkout)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.amount_total == 3600
    assert session.currency == "eur"
    assert session.payment_intent is None
    assert session.url == f"{sim.url}/_sim/checkout/{session.id}"

    assert checkout.retrieve(session.id).amount_total == 3600
    items = checkout.list_line_items(session.id)
    assert [(i.description, i.quantity, i.amount_total) for i in items.data] == [
        ("Mug", 3, 3600)
    ]
    assert [s.id for s in checkout.list(limit=10).data] == [session.id]

    status, declined = pay(sim, session.id, "pm_card_chargeDeclined")
    assert status == 402, declined
    assert declined["error"]["decline_code"] == "generic_decline"
    assert checkout.retrieve(session.id).status == "open"

    status, paid = pay(sim, session.id, "pm_card_visa")
    assert status == 200, paid
    session = checkout.retrieve(session.id)
    assert session.status == "complete"
    assert session.payment_status == "paid"
    assert session.customer_details.email == "buyer@example.com"
    intent = stripe.PaymentIntent.retrieve(session.payment_intent)
    assert intent.status == "succeeded"
    assert intent.amount == 3600
    assert intent.metadata.to_dict() == {"cart": "k1"}
    assert ("capture", 3600, None) in ledger_of(intent.id)
    by_intent = checkout.list(payment_intent=intent.id)
    assert [s.id for s in by_intent.data] == [session.id]
    events = stripe.Event.list(type="checkout.session.completed")
    assert events.data[0].data.object.id == session.id

    with pytest.raises(stripe.InvalidRequestError):
        checkout.expire(session.id)


def test_an_open_session_expires_by_request_and_by_the_clock(start_sim, api_key, monkeypatch):
    # Its own simulator: advancing the clock would expire other tests' sessions too.
    sim = start_sim()
    monkeypatch.setattr(stripe, "api_key", api_key)
    monkeypatch.setattr(stripe, "api_base", sim.url)
    first = create(stripe.checkout.Session)
    second = create(stripe.checkout.Session)
    expired = stripe.checkout.Session.expire(second.id)
    assert expired.status == "expired"
    assert expired.url is None

    request = urllib.request.Request(
        f"{sim.url}/_sim/clock/advance",
        data=json.dumps({"seconds": 24 * 3600}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200
    assert stripe.checkout.Session.retrieve(first.id).status == "expired"
    events = stripe.Event.list(type="checkout.session.expired")
    assert [e.data.object.id for e in events.data] == [first.id, second.id]
    status, late = pay(sim, first.id, "pm_card_visa")
    assert status == 409, late


def test_bad_sessions_name_the_parameter(checkout):
    with pytest.raises(stripe.InvalidRequestError) as e:
        checkout.create(mode="payment", success_url=SUCCESS_URL)
    assert e.value.param == "line_items"
    with pytest.raises(stripe.InvalidRequestError) as e:
        create(checkout, payment_intent_data={"capture_method": "later"})
    assert e.value.param == "payment_intent_data[capture_method]"
    with pytest.raises(stripe.InvalidRequestError) as e:
        checkout.retrieve("cs_test_missing")
    assert e.value.http_status == 404
