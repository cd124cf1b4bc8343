// gateway-sim's webhooks, verified by stripe-node's own check (the official
// `stripe` package from npm, unpatched): `stripe.webhooks.constructEvent`.
//
// Starts the release binary (GATEWAY_SIM_BIN, else target/release/gateway-sim)
// with `--webhook` endpoints pointing at a receiver in this process, drives it
// with stripe-node's client, and checks every delivery the way a Node service does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Stripe from 'stripe';

import { startSimulator } from './simulator.js';

const SECRET = 'whsec_node_suite_secret_0123456789';

/** A receiver that keeps every POST (headers and raw body) and answers 200. */
async function receiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const waitFor = async (count, ms = 10000) => {
    const deadline = Date.now() + ms;
    while (got.length < count && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return got;
  };
  return { url, got, waitFor, close: () => server.close() };
}

test('every delivery verifies with stripe.webhooks.constructEvent, in both dialects', async () => {
  const hooks = await receiver();
  const sim = await startSimulator([
    '--webhook', `${hooks.url}/stripe`,
    '--webhook', `native:${hooks.url}/native`,
    '--webhook-secret', SECRET,
  ]);
  try {
    const u = new URL(sim.url);
    const stripe = new Stripe('sk_test_node_suite', {
      host: u.hostname,
      port: Number(u.port),
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    const intent = await stripe.paymentIntents.create(
      { amount: 4200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
      { idempotencyKey: 'node-webhooks-create' },
    );
    assert.equal(intent.status, 'succeeded');

    // Stripe: payment_intent.created, charge.succeeded, payment_intent.succeeded;
    // native: payment.succeeded.
    const got = await hooks.waitFor(4);
    assert.equal(got.length, 4);
    const stripeEvents = got
      .filter((d) => d.path === '/stripe')
      .map((d) => stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature'], SECRET));
    assert.deepEqual(
      stripeEvents.map((e) => e.type).sort(),
      ['charge.succeeded', 'payment_intent.created', 'payment_intent.succeeded'],
    );
    const succeeded = stripeEvents.find((e) => e.type === 'payment_intent.succeeded');
    assert.equal(succeeded.data.object.id, intent.id);
    assert.equal(succeeded.request.idempotency_key, 'node-webhooks-create');

    // The native dialect signs the same way under its own header.
    const native = got.find((d) => d.path === '/native');
    const nativeEvent = stripe.webhooks.constructEvent(
      native.body, native.headers['gateway-signature'], SECRET);
    assert.equal(nativeEvent.type, 'payment.succeeded');

    // Tampering is caught.
    assert.throws(() => stripe.webhooks.constructEvent(
      got[0].body, got[0].headers['stripe-signature'] ?? got[0].headers['gateway-signature'],
      'whsec_wrong'));
  } finally {
    sim.stop();
    hooks.close();
  }
});
