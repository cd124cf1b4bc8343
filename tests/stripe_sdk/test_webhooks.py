"""Webhooks from gateway-sim, verified by the official SDK's own check.

A real HTTP receiver (a thread in this process) gets gateway-sim's deliveries;
``stripe.Webhook.construct_event`` (stripe-python, unpatched) verifies every
signature and parses every event, exactly as a service built on the SDK does.
"""

import http.server
import threading
import time

import pytest
import stripe

SECRET = "whsec_sdk_suite_secret_0123456789"


class Receiver:
    """Keeps every POST it gets (headers and raw body) and answers 200."""

    def __init__(self):
        got = self.got = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    got.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.got) >= count:
                    return list(self.got)
            time.sleep(0.02)
        with self.lock:
            return list(self.got)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def header(headers, name):
    return next(v for k, v in headers.items() if k.lower() == name)


def test_every_delivery_verifies_with_construct_event(start_sim, receiver, api_key):
    sim = start_sim(
        f'[[gateway.webhooks.endpoints]]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\n'
    )
    client = sim.client(api_key)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        },
        options={"idempotency_key": "sdk-webhooks-create"},
    )
    client.v1.payment_intents.capture(intent.id)
    client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})

    got = receiver.wait_for(7)
    events = [
        stripe.Webhook.construct_event(body, header(headers, "stripe-signature"), SECRET)
        for headers, body in got
    ]
    assert sorted(e.type for e in events) == sorted(
        [
            "payment_intent.created",
            "charge.succeeded",
            "payment_intent.amount_capturable_updated",
            "charge.captured",
            "payment_intent.succeeded",
            "charge.refunded",
            "refund.created",
        ]
    )
    by_type = {e.type: e for e in events}
    assert by_type["payment_intent.succeeded"].data.object.id == intent.id
    assert by_type["payment_intent.succeeded"].data.object.amount_received == 2500
    assert by_type["charge.refunded"].data.object.amount_refunded == 1000
    assert by_type["refund.created"].data.object.amount == 1000
    assert by_type["payment_intent.created"].request.idempotency_key == "sdk-webhooks-create"

    # A wrong secret, or a body changed on the way, is refused by the SDK.
    headers, body = got[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header(headers, "stripe-signature"), "whsec_wrong")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            body.replace(b'"livemode":false', b'"livemode":true'),
            header(headers, "stripe-signature"),
            SECRET,
        )

    # The events API lists what was delivered, newest first, and finds each by id.
    listed = client.v1.events.list(params={"limit": 100})
    ids = [e.id for e in listed.data]
    assert set(ids) >= {e.id for e in events}
    assert client.v1.events.retrieve(events[0].id).type == events[0].type


def test_an_endpoint_registered_through_the_sdk_gets_its_secret_once(sim, receiver, api_key):
    client = sim.client(api_key)
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"]}
    )
    assert endpoint.secret.startswith("whsec_")
    assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id).to_dict()

    intent = client.v1.payment_intents.create(
        params={"amount": 900, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    got = receiver.wait_for(1)
    assert len(got) == 1
    headers, body = got[0]
    event = stripe.Webhook.construct_event(body, header(headers, "stripe-signature"), endpoint.secret)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.id == intent.id

    client.v1.webhook_endpoints.delete(endpoint.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.retrieve(endpoint.id)
