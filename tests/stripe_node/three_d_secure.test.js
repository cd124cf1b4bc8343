// A 3-D Secure challenge through stripe-node (the official `stripe` package,
// unpatched): confirming with a card that asks for authentication answers
// `requires_action` with a `redirect_to_url` next action, and posting the
// buyer's answer to that URL lets the PaymentIntent succeed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';

import { startSimulator } from './simulator.js';

test('a 3-D Secure next_action is followed to success', async () => {
  const sim = await startSimulator();
  try {
    const u = new URL(sim.url);
    const stripe = new Stripe('sk_test_node_3ds', {
      host: u.hostname,
      port: Number(u.port),
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    let intent = await stripe.paymentIntents.create({
      amount: 1999,
      currency: 'usd',
      payment_method: 'pm_card_threeDSecure2Required',
      confirm: true,
      return_url: 'https://shop.example/return',
    });
    assert.equal(intent.status, 'requires_action');
    assert.equal(intent.next_action.type, 'redirect_to_url');
    assert.equal(intent.next_action.redirect_to_url.return_url, 'https://shop.example/return');

    const answered = await fetch(intent.next_action.redirect_to_url.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'complete' }),
    });
    assert.equal(answered.status, 200);
    assert.equal((await answered.json()).status, 'succeeded');

    intent = await stripe.paymentIntents.retrieve(intent.id);
    assert.equal(intent.status, 'succeeded');
    assert.equal(intent.next_action, null);
  } finally {
    sim.stop();
  }
});
