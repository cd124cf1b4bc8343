"""gateway-sim's fault model meets the SDK's own retry logic.

The SDK sends an idempotency key with every POST and retries 5xx answers with
the same key; the simulator's faults show whether that keeps money right.
"""

import pytest
import stripe

# Every first attempt of a create (or confirm) is processed but answered 500; every
# first capture is refused with 503 before processing.
FLAKY = """
[[gateway.sequences]]
endpoints = ["create"]
fail_first = 1
fault = "http_500_after_commit"

[[gateway.sequences]]
endpoints = ["capture"]
fail_first = 1
fault = "http_503"
"""


@pytest.fixture(scope="module")
def flaky_sim(start_sim):
    return start_sim(FLAKY)


def test_sdk_retries_with_the_same_key_and_charges_once(flaky_sim, api_key, ledger_of):
    client = flaky_sim.client(api_key, max_network_retries=2)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "capture_method": "manual",
        }
    )
    assert intent.status == "requires_capture"
    assert intent.last_response.headers.get("Idempotent-Replayed") == "true", (
        "the retry got the stored answer of the attempt that was processed"
    )
    captured = client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 4000})
    assert captured.amount_received == 4000
    assert ledger_of(intent.id, flaky_sim) == [
        ("authorization", 4200, None),
        ("capture", 4000, None),
        ("release", 200, None),
    ]


def test_without_retries_the_failure_is_ambiguous(flaky_sim, api_key, ledger_of):
    client = flaky_sim.client(api_key, max_network_retries=0)
    with pytest.raises(stripe.APIError) as failed:
        client.v1.payment_intents.create(
            params={
                "amount": 999,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
    assert failed.value.http_status == 500
    assert failed.value.error.type == "api_error"
    # ... and yet the charge went through: the service must find out, not charge again.
    [intent] = client.v1.payment_intents.list().data
    assert intent.status == "succeeded"
    assert [kind for kind, _, _ in ledger_of(intent.id, flaky_sim)] == ["authorization", "capture"]


def test_rate_limits_raise_rate_limit_error(start_sim, api_key):
    limited = start_sim("[gateway.rate_limit]\nrequests_per_second = 1\nburst = 1\n")
    client = limited.client(api_key)
    raised = []
    for _ in range(10):
        try:
            client.v1.payment_intents.list()
        except stripe.RateLimitError as e:
            raised.append(e)
    assert raised, "10 quick requests against 1 per second must hit the limit"
    assert raised[0].http_status == 429
    assert raised[0].error.code == "rate_limit"


# Faults on the wire: each first create is struck, before processing or after the commit.
def struck_first_create(start_sim, fault):
    return start_sim(
        f'[[gateway.sequences]]\nendpoints = ["create"]\nfail_first = 1\nfault = "{fault}"\n'
    )


VISA = {"amount": 1700, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}


@pytest.mark.parametrize(
    "fault", ["html_502", "html_502_after_commit", "empty_reply", "empty_reply_after_commit"]
)
def test_sdk_retries_a_502_or_an_empty_reply_with_the_same_key_and_charges_once(
    fault, start_sim, api_key, ledger_of
):
    struck = struck_first_create(start_sim, fault)
    client = struck.client(api_key, max_network_retries=2)
    intent = client.v1.payment_intents.create(params=VISA)
    assert intent.status == "succeeded"
    replayed = intent.last_response.headers.get("Idempotent-Replayed") == "true"
    assert replayed == fault.endswith("_after_commit"), (
        "the retry replays the stored answer only when the first attempt ran"
    )
    assert [kind for kind, _, _ in ledger_of(intent.id, struck)] == ["authorization", "capture"]


@pytest.mark.parametrize("fault", ["truncated_body", "truncated_body_after_commit"])
def test_a_cut_success_is_a_connection_error_the_sdk_does_not_retry(
    fault, start_sim, api_key, ledger_of
):
    # stripe-python retries timeouts and connection errors, not a body cut short (requests'
    # ChunkedEncodingError): the merchant gets APIConnectionError even with retries on, and
    # must retry with the same key itself (or look the payment up) to learn what happened.
    struck = struck_first_create(start_sim, fault)
    client = struck.client(api_key, max_network_retries=2)
    options = {"idempotency_key": f"order-{fault}"}
    with pytest.raises(stripe.APIConnectionError) as cut:
        client.v1.payment_intents.create(params=VISA, options=options)
    assert not cut.value.should_retry
    charged = fault.endswith("_after_commit")
    intents = client.v1.payment_intents.list().data
    assert len(intents) == int(charged), "charged only after the commit"

    intent = client.v1.payment_intents.create(params=VISA, options=options)
    assert intent.status == "succeeded"
    replayed = intent.last_response.headers.get("Idempotent-Replayed") == "true"
    assert replayed == charged
    assert [kind for kind, _, _ in ledger_of(intent.id, struck)] == ["authorization", "capture"]


def test_stripe_should_retry_says_false_on_declines_and_true_on_server_errors(
    start_sim, api_key, ledger_of
):
    flaky = start_sim(
        '[[gateway.sequences]]\nendpoints = ["capture"]\nfail_first = 1\nfault = "http_503"\n'
    )
    client = flaky.client(api_key, max_network_retries=3)
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            params={**VISA, "payment_method": "pm_card_chargeDeclined"}
        )
    assert declined.value.headers.get("Stripe-Should-Retry") == "false"
    intent_id = declined.value.error.payment_intent["id"]
    assert [kind for kind, _, _ in ledger_of(intent_id, flaky)] == ["decline"], "never retried"

    no_retries = flaky.client(api_key, max_network_retries=0)
    intent = no_retries.v1.payment_intents.create(params={**VISA, "capture_method": "manual"})
    with pytest.raises(stripe.APIError) as unavailable:
        no_retries.v1.payment_intents.capture(intent.id)
    assert unavailable.value.http_status == 503
    assert unavailable.value.headers.get("Stripe-Should-Retry") == "true"
