"""Disputes through the official Stripe SDK: each dispute test payment method
is disputed after ``[gateway.disputes] open_after`` of simulator time and taken
to its resolution with ``stripe.Dispute.modify`` (winning or losing evidence)
or ``stripe.Dispute.close``; an inquiry moves no money.
"""

import json
import urllib.request

import pytest
import stripe

SCENARIO = '[gateway.disputes]\nopen_after = "1h"\ndecided_after = "2d"\n'


def advance(sim, seconds):
    request = urllib.request.Request(
        f"{sim.url}/_sim/clock/advance",
        data=json.dumps({"seconds": seconds}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200


@pytest.fixture(scope="module")
def dispute_sim(start_sim):
    # Its own simulator: advancing the clock would expire other tests' keys too.
    return start_sim(SCENARIO)


@pytest.fixture
def globally(dispute_sim, api_key, monkeypatch):
    """The module-level style, pointed at this module's simulator."""
    monkeypatch.setattr(stripe, "api_key", api_key)
    monkeypatch.setattr(stripe, "api_base", dispute_sim.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    return dispute_sim


def disputed(sim, payment_method, amount):
    intent = stripe.PaymentIntent.create(
        amount=amount, currency="usd", payment_method=payment_method, confirm=True
    )
    assert intent.status == "succeeded"
    assert stripe.Dispute.list(payment_intent=intent.id).data == []
    advance(sim, 3600)
    disputes = stripe.Dispute.list(payment_intent=intent.id)
    assert len(disputes.data) == 1
    return intent, disputes.data[0]


def kinds(sim, api_key, intent_id):
    payment = "pay_" + intent_id[len("pi_") :]
    return [(e["kind"], e["amount"]) for e in sim.ledger(api_key) if e["payment_id"] == payment]


def test_create_dispute_is_won_with_winning_evidence(globally, api_key):
    intent, dispute = disputed(globally, "pm_card_createDispute", 3000)
    assert dispute.id.startswith("dp_")
    assert dispute.object == "dispute"
    assert dispute.status == "needs_response"
    assert dispute.reason == "fraudulent"
    assert dispute.amount == 3000
    assert dispute.charge == intent.latest_charge
    assert dispute.payment_intent == intent.id
    assert stripe.Charge.retrieve(intent.latest_charge).disputed is True

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.Refund.create(payment_intent=intent.id)
    assert refused.value.code == "charge_disputed"

    updated = stripe.Dispute.modify(
        dispute.id, evidence={"uncategorized_text": "winning_evidence"}
    )
    assert updated.status == "under_review"
    assert updated.evidence.uncategorized_text == "winning_evidence"
    assert updated.evidence_details.submission_count == 1
    advance(globally, 2 * 86_400)
    won = stripe.Dispute.retrieve(dispute.id)
    assert won.status == "won"
    assert kinds(globally, api_key, intent.id) == [
        ("authorization", 3000),
        ("capture", 3000),
        ("dispute", 3000),
        ("dispute_reversal", 3000),
    ]
    types = [e.type for e in stripe.Event.list(type="charge.dispute.*", limit=100)]
    assert types == [
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
        "charge.dispute.updated",
        "charge.dispute.created",
    ]


def test_product_not_received_is_lost_with_losing_evidence(globally, api_key):
    intent, dispute = disputed(globally, "pm_card_createDisputeProductNotReceived", 1200)
    assert dispute.reason == "product_not_received"
    stripe.Dispute.modify(dispute.id, evidence={"uncategorized_text": "losing_evidence"})
    advance(globally, 2 * 86_400)
    lost = stripe.Dispute.retrieve(dispute.id)
    assert lost.status == "lost"
    assert kinds(globally, api_key, intent.id) == [
        ("authorization", 1200),
        ("capture", 1200),
        ("dispute", 1200),
    ]
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Dispute.modify(dispute.id, evidence={"uncategorized_text": "winning_evidence"})


def test_closing_a_dispute_accepts_the_loss(globally, api_key):
    intent, dispute = disputed(globally, "pm_card_createDispute", 500)
    closed = stripe.Dispute.close(dispute.id)
    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Dispute.close(dispute.id)
    # The merchant's notes are kept, on a decided dispute too.
    noted = stripe.Dispute.modify(dispute.id, metadata={"case": "c-9"})
    assert noted.metadata.to_dict() == {"case": "c-9"}
    assert stripe.Dispute.retrieve(dispute.id).metadata.to_dict() == {"case": "c-9"}
    assert [d.id for d in stripe.Dispute.list(charge=intent.latest_charge)] == [dispute.id]
    assert ("dispute", 500) in kinds(globally, api_key, intent.id)


def test_an_inquiry_moves_no_money(globally, api_key):
    intent, dispute = disputed(globally, "pm_card_createDisputeInquiry", 800)
    assert dispute.status == "warning_needs_response"
    stripe.Dispute.modify(dispute.id, evidence={"uncategorized_text": "winning_evidence"})
    advance(globally, 2 * 86_400)
    assert stripe.Dispute.retrieve(dispute.id).status == "warning_closed"
    assert kinds(globally, api_key, intent.id) == [("authorization", 800), ("capture", 800)]


def test_disputes_list_pages_with_the_sdk(globally):
    for _ in range(3):
        stripe.PaymentIntent.create(
            amount=100, currency="usd", payment_method="pm_card_createDispute", confirm=True
        )
    advance(globally, 3600)
    first = stripe.Dispute.list(limit=2)
    assert len(first.data) == 2 and first.has_more
    every = [d.id for d in stripe.Dispute.list(limit=2).auto_paging_iter()]
    assert len(every) == 3 and len(set(every)) == 3
