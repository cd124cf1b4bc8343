"""A payment's life after its first answer, through the official Stripe SDK:
an uncaptured authorization that expires, and 3-D Secure challenges completed
and failed through the page gateway-sim serves at ``next_action``'s URL.
"""

import json
import urllib.error
import urllib.request

import pytest
import stripe


def post_json(url, body, headers=None):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, json.loads(r.read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_form_without_following(url, form):
    """What a browser's form post gets back, without following the redirect."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=form.encode(), method="POST")
    request.add_header("content-type", "application/x-www-form-urlencoded")
    try:
        with opener.open(request, timeout=10) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def idempotency_key_status(sim, api_key, key):
    request = urllib.request.Request(
        f"{sim.url}/v1/idempotency-keys/{key}",
        headers={"authorization": f"Bearer {api_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_an_uncaptured_authorization_expires_when_the_clock_passes_it(start_sim, api_key):
    # Its own simulator: advancing the clock would expire other tests' keys too.
    sim = start_sim('[gateway.authorizations]\nvalidity = "1h"\n')
    client = sim.client(api_key)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )
    assert intent.status == "requires_capture"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.captured is False
    assert charge.capture_before >= charge.created + 3600 - 1
    assert charge.payment_method_details.card.capture_before == charge.capture_before

    post_json(f"{sim.url}/_sim/clock/advance", {"seconds": 3601})

    intent = client.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "canceled"
    assert intent.cancellation_reason == "automatic"
    assert intent.amount_capturable == 0
    assert client.v1.charges.retrieve(intent.latest_charge).captured is False
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.capture(intent.id, options={"idempotency_key": "late-capture"})
    assert refused.value.http_status == 400
    assert refused.value.code == "payment_intent_unexpected_state"
    assert idempotency_key_status(sim, api_key, "late-capture") == 404, "nothing stored"

    payment = "pay_" + intent.id[len("pi_") :]
    entries = [e for e in sim.ledger(api_key) if e["payment_id"] == payment]
    assert [(e["kind"], e["amount"], e.get("reason")) for e in entries] == [
        ("authorization", 4200, None),
        ("release", 4200, "expired"),
    ]
    types = [e.type for e in client.v1.events.list(params={"limit": 100}).data]
    assert "charge.expired" in types and "payment_intent.canceled" in types


def challenged_intent(client, payment_method, **params):
    intent = client.v1.payment_intents.create(
        params={
            "amount": 3100,
            "currency": "eur",
            "payment_method": payment_method,
            "confirm": True,
            **params,
        }
    )
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    return intent


@pytest.mark.parametrize(
    "payment_method", ["pm_card_threeDSecure2Required", "pm_card_authenticationRequired"]
)
def test_a_completed_3ds_challenge_charges_the_card(client, ledger_of, payment_method):
    intent = challenged_intent(
        client, payment_method, return_url="https://shop.example/orders/7/return"
    )
    redirect = intent.next_action.redirect_to_url
    assert redirect.return_url == "https://shop.example/orders/7/return"
    assert ledger_of(intent.id) == [], "no money moves before the challenge is answered"

    status, answer = post_json(redirect.url, {"outcome": "complete"})
    assert status == 200 and answer["status"] == "succeeded"
    assert answer["redirect_to"].startswith(
        f"https://shop.example/orders/7/return?payment_intent={intent.id}&"
    )

    intent = client.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "succeeded"
    assert intent.next_action is None
    assert [kind for kind, _, _ in ledger_of(intent.id)] == ["authorization", "capture"]


def test_a_3ds_challenge_completed_from_the_page_redirects_to_return_url(client, ledger_of):
    intent = challenged_intent(
        client,
        "pm_card_threeDSecure2Required",
        capture_method="manual",
        return_url="https://shop.example/back",
    )
    url = intent.next_action.redirect_to_url.url
    with urllib.request.urlopen(url, timeout=10) as page:
        html = page.read().decode()
    assert "Complete" in html and "Fail" in html

    status, headers = post_form_without_following(url, "outcome=complete")
    assert status == 303
    assert headers.get("Location") == (
        f"https://shop.example/back?payment_intent={intent.id}&redirect_status=succeeded"
    )
    intent = client.v1.payment_intents.retrieve(intent.id)
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 3100)

    # A challenge is answered once.
    with pytest.raises(urllib.error.HTTPError) as again:
        post_json(url, {"outcome": "complete"})
    assert again.value.code == 409


def test_a_failed_3ds_challenge_moves_no_money(client, ledger_of):
    intent = challenged_intent(client, "pm_card_threeDSecure2Required")
    status, answer = post_json(intent.next_action.redirect_to_url.url, {"outcome": "fail"})
    assert status == 200 and answer["redirect_to"] is None

    intent = client.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == "payment_intent_authentication_failure"
    assert all(amount == 0 for _, amount, _ in ledger_of(intent.id))

    # The buyer may try again with another card.
    intent = client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert intent.status == "succeeded"


def test_a_3ds_challenge_nobody_answers_is_abandoned_by_the_clock(start_sim, api_key):
    # Its own simulator: advancing the clock would end other tests' challenges too.
    sim = start_sim('[gateway.three_ds]\nabandon_after = "30m"\n')
    client = sim.client(api_key)
    intent = challenged_intent(client, "pm_card_threeDSecure2Required")
    url = intent.next_action.redirect_to_url.url

    post_json(f"{sim.url}/_sim/clock/advance", {"seconds": 1801})

    intent = client.v1.payment_intents.retrieve(intent.id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.code == "payment_intent_authentication_failure"
    assert intent.next_action is None
    with pytest.raises(urllib.error.HTTPError) as late:
        post_json(url, {"outcome": "complete"})
    assert late.value.code == 409, "the buyer came back too late"
    payment = "pay_" + intent.id[len("pi_") :]
    entries = [e for e in sim.ledger(api_key) if e["payment_id"] == payment]
    assert [(e["kind"], e["amount"]) for e in entries] == [("decline", 0)]
