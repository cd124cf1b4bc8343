// A 3-D Secure challenge through stripe-node (the official `stripe` package,
// unpatched): confirming with a card that asks for authentication answers
// `requires_action` with a `redirect_to_url` next action, and posting the
// buyer's answer to that URL lets the PaymentIntent succeed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? path.join(here, '..', '..', 'target');
const binary = process.env.GATEWAY_SIM_BIN ?? path.join(target, 'release', 'gateway-sim');

function startSimulator() {
  const child = spawn(binary, ['--listen', '127.0.0.1:0', '--seed', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway-sim did not start: ${stderr}`)), 30000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/gateway-sim listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => child.kill() });
      }
    });
    child.on('exit', (code) => reject(new Error(`gateway-sim exited ${code}: ${stderr}`)));
  });
}

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
