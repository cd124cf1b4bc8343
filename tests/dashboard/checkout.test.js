// A Stripe Checkout service end to end in a real browser: Debian's Chromium, headless, driven
// by playwright-core (CHROMIUM_BIN, else /usr/bin/chromium), against the release gateway-sim
// (GATEWAY_SIM_BIN, else $CARGO_TARGET_DIR/release/gateway-sim).
//
// A small merchant in this process does what a Checkout integration does: registers a webhook
// endpoint, creates a session (form-encoded, as the SDKs send it), sends the buyer to its url,
// shows a thank-you page at success_url, and completes the order from the signed
// `checkout.session.completed` webhook (the signature checked by hand, the way
// stripe.webhooks.constructEvent does: HMAC-SHA256 of "{t}.{body}"). The buyer first picks
// the declining card and sees why on the page, then pays with the approving one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

import { WAIT, browser, startSimulator } from './harness.js';

const API_KEY = 'sk_test_checkout_shop';

/** The merchant's site: `/success` (the thank-you page) and `/webhook` (the events). */
function merchantSite() {
  const webhooks = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://localhost');
      if (req.method === 'POST' && url.pathname === '/webhook') {
        webhooks.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['stripe-signature'] });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      } else if (req.method === 'GET' && url.pathname === '/success') {
        const session = url.searchParams.get('session') ?? '';
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(`<!doctype html><title>Thanks</title><h1 id="thanks">Thank you</h1><p id="session">${session.replace(/[^A-Za-z0-9_]/g, '')}</p>`);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, webhooks, close: () => server.close() });
    });
  });
}

/** A Stripe API call as an SDK sends it: form-encoded, Bearer key, Stripe-Version. */
async function stripeApi(sim, method, urlPath, form) {
  const response = await fetch(`${sim.url}${urlPath}`, {
    method,
    headers: {
      Authorization: `Bearer ${API_KEY}`,
      'Stripe-Version': '2024-06-20',
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: form === undefined ? undefined : new URLSearchParams(form).toString(),
  });
  return { status: response.status, json: await response.json() };
}

/** What stripe.webhooks.constructEvent checks: a v1 HMAC-SHA256 of "{t}.{body}", and a recent t. */
function verify(body, header, secret) {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.${body}`).digest('hex');
  const v1 = header.split(',').filter((p) => p.startsWith('v1=')).map((p) => p.slice(3));
  assert.ok(v1.some((sig) => crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected))), 'signature');
  assert.ok(Math.abs(Date.now() / 1000 - Number(parts.t)) < 300, 'timestamp within tolerance');
  return JSON.parse(body);
}

async function waitFor(check, what) {
  const deadline = Date.now() + WAIT.timeout;
  while (Date.now() < deadline) {
    const found = check();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a buyer pays a Checkout session on the hosted page and the merchant hears of it', async () => {
  const sim = await startSimulator();
  const shop = await merchantSite();
  const chromium = await browser();
  const { page } = chromium;
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The declined payment's 402 is logged by the browser as a failed load: expected.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  try {
    const endpoint = await stripeApi(sim, 'POST', '/v1/webhook_endpoints', [
      ['url', `${shop.url}/webhook`],
      ['enabled_events[]', 'checkout.session.completed'],
    ]);
    assert.equal(endpoint.status, 200, JSON.stringify(endpoint.json));
    const secret = endpoint.json.secret;

    const created = await stripeApi(sim, 'POST', '/v1/checkout/sessions', [
      ['mode', 'payment'],
      ['line_items[0][price_data][currency]', 'usd'],
      ['line_items[0][price_data][unit_amount]', '2500'],
      ['line_items[0][price_data][product_data][name]', 'Tea <b>&</b> "biscuits"'],
      ['line_items[0][quantity]', '2'],
      ['success_url', `${shop.url}/success?session={CHECKOUT_SESSION_ID}`],
      ['cancel_url', `${shop.url}/cart`],
      ['client_reference_id', 'order-browser-1'],
    ]);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const session = created.json;
    assert.equal(session.status, 'open');

    // The page shows the line item as text (escaped, not markup) and the total.
    await page.goto(session.url);
    assert.equal(await page.locator('td.name').textContent(), 'Tea <b>&</b> "biscuits"');
    assert.equal(await page.locator('td.name b').count(), 0);
    assert.equal(await page.locator('#total').textContent(), '5000');

    // The declining card: the page says why, and the session stays open.
    await page.check('input[value="pm_card_chargeDeclined"]');
    await page.click('#pay');
    await page.locator('p.error').waitFor(WAIT);
    assert.match(await page.locator('p.error').textContent(), /declined/);
    const stillOpen = await stripeApi(sim, 'GET', `/v1/checkout/sessions/${session.id}`);
    assert.equal(stillOpen.json.status, 'open');

    // The approving card: on to success_url, with the session's id in it.
    await page.check('input[value="pm_card_visa"]');
    await Promise.all([
      page.waitForURL(`${shop.url}/success?session=${session.id}`, WAIT),
      page.click('#pay'),
    ]);
    assert.equal(await page.locator('#thanks').textContent(), 'Thank you');

    // The order completes from the signed webhook, as a Checkout integration's does.
    const delivery = await waitFor(() => shop.webhooks[0], 'checkout.session.completed');
    const event = verify(delivery.body, delivery.signature, secret);
    assert.equal(event.type, 'checkout.session.completed');
    assert.equal(event.data.object.id, session.id);
    assert.equal(event.data.object.status, 'complete');
    assert.equal(event.data.object.payment_status, 'paid');
    assert.equal(event.data.object.client_reference_id, 'order-browser-1');
    assert.throws(() => verify(delivery.body, delivery.signature, 'whsec_wrong'));

    const done = await stripeApi(sim, 'GET', `/v1/checkout/sessions/${session.id}`);
    assert.equal(done.json.status, 'complete');
    const intent = await stripeApi(sim, 'GET', `/v1/payment_intents/${done.json.payment_intent}`);
    assert.equal(intent.json.status, 'succeeded');
    assert.equal(intent.json.amount, 5000);
    assert.deepEqual(problems, []);
  } finally {
    await chromium.close();
    sim.stop();
    shop.close();
  }
});
