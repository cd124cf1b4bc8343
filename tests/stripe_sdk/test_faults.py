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
