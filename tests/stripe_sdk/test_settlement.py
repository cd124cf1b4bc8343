"""Settlement through the official Stripe SDK and the reconciliation report read back
with Python's csv module, as a finance team's job would read it: a charge's balance
transaction and fee, payouts after the clock moves, the itemized payout
reconciliation report whose rows add up to each payout, and the payouts' events
(payout.created, payout.paid, payout.failed) listed and retrieved through the SDK.
"""

import csv
import io
import json
import urllib.request

import pytest

COLUMNS = [
    "automatic_payout_id",
    "automatic_payout_effective_at",
    "balance_transaction_id",
    "created",
    "available_on",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "payment_intent_id",
    "charge_id",
    "payment_metadata[order_id]",
]


def advance(sim, seconds):
    request = urllib.request.Request(
        f"{sim.url}/_sim/clock/advance",
        data=json.dumps({"seconds": seconds}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200


def report(sim, query=""):
    url = f"{sim.url}/_sim/reports/payout_reconciliation{query}"
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(r.read().decode("utf-8"))))


@pytest.fixture(scope="module")
def settle_sim(start_sim):
    # Its own simulator: advancing the clock would expire other tests' keys too.
    return start_sim("[gateway.settlement]\npayout_hour = 6\n")


def test_the_report_itemizes_each_payout_with_the_orders(settle_sim, api_key):
    client = settle_sim.client(api_key)
    orders = {}
    for n, amount in enumerate([1000, 2550, 9999]):
        order = f"order,{n}"  # a comma: the report must quote it
        intent = client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
                "metadata": {"order_id": order},
            }
        )
        orders[intent.id] = (order, amount)
    refunded = next(iter(orders))
    client.v1.refunds.create(params={"payment_intent": refunded, "amount": 400})

    charge = client.v1.charges.list(params={"payment_intent": refunded}).data[0]
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (txn.amount, txn.fee, txn.net) == (1000, 59, 941)
    assert txn.status == "pending"

    advance(settle_sim, 3 * 86_400)

    payouts = client.v1.payouts.list().data
    assert len(payouts) == 1
    payout = payouts[0]
    rows = report(settle_sim, f"?payout={payout.id}")
    assert list(rows[0].keys()) == COLUMNS
    assert len(rows) == 4
    assert sum(int(r["net"]) for r in rows) == payout.amount
    charges = [r for r in rows if r["reporting_category"] == "charge"]
    assert sorted(r["payment_metadata[order_id]"] for r in charges) == [
        "order,0",
        "order,1",
        "order,2",
    ]
    for r in charges:
        order, amount = orders[r["payment_intent_id"]]
        assert r["payment_metadata[order_id]"] == order
        assert int(r["gross"]) == amount
        assert int(r["fee"]) == (amount * 290 + 5000) // 10000 + 30
        assert r["charge_id"] == r["source_id"]
    refund = next(r for r in rows if r["reporting_category"] == "refund")
    assert (int(refund["gross"]), int(refund["fee"])) == (-400, 0)
    assert refund["source_id"].startswith("re_")
    listed = client.v1.balance_transactions.list(params={"payout": payout.id}).data
    assert {t.id for t in listed} == {r["balance_transaction_id"] for r in rows}


def payout_events(client):
    """The merchant's payout.* events, oldest first, through the SDK's list."""
    events = client.v1.events.list(params={"type": "payout.*", "limit": 100})
    return list(reversed(events.data))


def test_a_payout_tells_its_creation_and_arrival_as_events(settle_sim, api_key):
    client = settle_sim.client(api_key)
    client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert payout_events(client) == []

    # Four days: the run is at 06:00 two days on, the arrival a day later.
    advance(settle_sim, 4 * 86_400)

    events = payout_events(client)
    assert [e.type for e in events] == ["payout.created", "payout.paid"]
    payout = client.v1.payouts.list().data[0]
    created, paid = events
    assert created.data.object.id == payout.id
    assert created.data.object.status == "pending"
    assert created.created == payout.created
    assert paid.data.object.status == "paid"
    assert paid.created == payout.arrival_date
    assert paid.data.object.amount == 5000 - 175
    again = client.v1.events.retrieve(paid.id)
    assert again.type == "payout.paid"
    assert again.data.object.id == payout.id
    only_paid = client.v1.events.list(params={"types": ["payout.paid"]}).data
    assert [e.id for e in only_paid] == [paid.id]


@pytest.fixture(scope="module")
def returning_sim(start_sim):
    # Every payout comes back from the bank.
    return start_sim("[gateway.settlement]\npayout_failure_rate = 1.0\n")


def test_a_returned_payout_tells_its_failure(returning_sim, api_key):
    client = returning_sim.client(api_key)
    client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    advance(returning_sim, 3 * 86_400)

    events = payout_events(client)
    assert [e.type for e in events] == [
        "payout.created",
        "payout.failed",
        "payout.created",
    ]
    failed = events[1].data.object
    assert failed.status == "failed"
    assert failed.failure_code in ("account_closed", "no_account", "could_not_process")
    assert failed.failure_balance_transaction.startswith("txn_")
    returned = client.v1.payouts.retrieve(failed.id)
    assert returned.status == "failed"
