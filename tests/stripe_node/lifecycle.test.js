// A payment's life after its first answer, through stripe-node (the official `stripe`
// package, unpatched): an authorization that expires when simulator time passes its
// validity, each dispute test card taken to its resolution, and a Checkout session paid
// through the script endpoint. The simulator's clock is moved with POST /_sim/clock/advance,
// so each test starts a simulator of its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';

import { startSimulator } from './simulator.js';

const DAY = 86_400;

/** A simulator with `gateway` as its scenario's [gateway] tables, and a stripe-node client. */
async function simulatorWith(gateway) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-sim-node-'));
  const scenario = path.join(dir, 'scenario.toml');
  fs.writeFileSync(scenario, gateway);
  const sim = await startSimulator(['--scenario', scenario]);
  const u = new URL(sim.url);
  const stripe = new Stripe('sk_test_node_lifecycle', {
    host: u.hostname,
    port: Number(u.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const advance = async (seconds) => {
    const r = await fetch(`${sim.url}/_sim/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seconds }),
    });
    assert.equal(r.status, 200);
  };
  const stop = () => {
    sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { sim, stripe, advance, stop };
}

/** The StripeError a promise rejects with. */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the call was expected to be refused');
}

test('an uncaptured authorization expires after its validity, and a late capture is refused', async () => {
  const { stripe, advance, stop } = await simulatorWith('[gateway.authorizations]\nvalidity = "2d"\n');
  try {
    const intent = await stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    });
    assert.equal(intent.status, 'requires_capture');
    const charge = await stripe.charges.retrieve(intent.latest_charge);
    assert.equal(charge.captured, false);
    assert.ok(charge.payment_method_details.card.capture_before > charge.created);

    await advance(2 * DAY + 60);
    const expired = await stripe.paymentIntents.retrieve(intent.id);
    assert.equal(expired.status, 'canceled');
    assert.equal(expired.cancellation_reason, 'automatic');

    const e = await refusal(stripe.paymentIntents.capture(intent.id, {}, { idempotencyKey: 'late-capture' }));
    assert.equal(e.type, 'StripeInvalidRequestError');
    assert.equal(e.statusCode, 400);
    assert.equal(e.code, 'payment_intent_unexpected_state');
    const events = await stripe.events.list({ type: 'charge.expired' });
    assert.deepEqual(events.data.map((ev) => ev.data.object.id), [intent.latest_charge]);
  } finally {
    stop();
  }
});

test('a failed 3-D Secure challenge leaves the PaymentIntent needing another payment method', async () => {
  const { stripe, stop } = await simulatorWith('[gateway]\n');
  try {
    const intent = await stripe.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
      return_url: 'https://shop.example/return',
    });
    assert.equal(intent.status, 'requires_action');
    const answered = await fetch(intent.next_action.redirect_to_url.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'fail' }),
    });
    assert.equal(answered.status, 200);
    const failed = await stripe.paymentIntents.retrieve(intent.id);
    assert.equal(failed.status, 'requires_payment_method');
    assert.equal(failed.last_payment_error.code, 'payment_intent_authentication_failure');
  } finally {
    stop();
  }
});

test('each dispute card is disputed, then won, lost or closed as Stripe test mode decides', async () => {
  const { stripe, advance, stop } = await simulatorWith(
    '[gateway.disputes]\nopen_after = "1h"\ndecided_after = "2d"\n',
  );
  try {
    const pay = (payment_method, amount) =>
      stripe.paymentIntents.create({ amount, currency: 'usd', payment_method, confirm: true });
    const fraud = await pay('pm_card_createDispute', 3000);
    const notReceived = await pay('pm_card_createDisputeProductNotReceived', 1200);
    const inquiry = await pay('pm_card_createDisputeInquiry', 800);
    assert.equal((await stripe.disputes.list()).data.length, 0, 'nothing is disputed before open_after');

    await advance(3600);
    const disputeOf = async (intent) => {
      const list = await stripe.disputes.list({ payment_intent: intent.id });
      assert.equal(list.data.length, 1);
      return list.data[0];
    };
    const won = await disputeOf(fraud);
    const lost = await disputeOf(notReceived);
    const asked = await disputeOf(inquiry);
    assert.equal(won.reason, 'fraudulent');
    assert.equal(won.status, 'needs_response');
    assert.equal(lost.reason, 'product_not_received');
    assert.equal(asked.status, 'warning_needs_response');
    assert.equal((await stripe.charges.retrieve(fraud.latest_charge)).disputed, true);

    const refused = await refusal(stripe.refunds.create({ payment_intent: fraud.id }));
    assert.equal(refused.code, 'charge_disputed');

    const reviewed = await stripe.disputes.update(won.id, {
      evidence: { uncategorized_text: 'winning_evidence' },
    });
    assert.equal(reviewed.status, 'under_review');
    await stripe.disputes.update(lost.id, { evidence: { uncategorized_text: 'losing_evidence' } });
    const closed = await stripe.disputes.close(asked.id);
    assert.equal(closed.status, 'warning_closed');

    await advance(2 * DAY + 60);
    assert.equal((await stripe.disputes.retrieve(won.id)).status, 'won');
    assert.equal((await stripe.disputes.retrieve(lost.id)).status, 'lost');
    const reinstated = await stripe.events.list({ type: 'charge.dispute.funds_reinstated' });
    assert.deepEqual(reinstated.data.map((ev) => ev.data.object.id), [won.id]);
  } finally {
    stop();
  }
});

test('a Checkout session paid through the script endpoint completes with its PaymentIntent', async () => {
  const { sim, stripe, stop } = await simulatorWith('[gateway]\n');
  try {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'eur', unit_amount: 1250, product_data: { name: 'Tea' } }, quantity: 2 },
      ],
      success_url: 'https://shop.example/done?session={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://shop.example/cart',
      client_reference_id: 'order-node-1',
    });
    assert.equal(session.status, 'open');
    assert.equal(session.payment_status, 'unpaid');
    assert.equal(session.amount_total, 2500);

    const paid = await fetch(`${sim.url}/_sim/checkout/${session.id}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payment_method: 'pm_card_visa' }),
    });
    assert.equal(paid.status, 200, await paid.clone().text());

    const done = await stripe.checkout.sessions.retrieve(session.id);
    assert.equal(done.status, 'complete');
    assert.equal(done.payment_status, 'paid');
    const intent = await stripe.paymentIntents.retrieve(done.payment_intent);
    assert.equal(intent.status, 'succeeded');
    assert.equal(intent.amount, 2500);
    assert.equal(intent.currency, 'eur');
    const items = await stripe.checkout.sessions.listLineItems(session.id);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0].quantity, 2);
    const completed = await stripe.events.list({ type: 'checkout.session.completed' });
    assert.deepEqual(completed.data.map((ev) => ev.data.object.id), [session.id]);
  } finally {
    stop();
  }
});
