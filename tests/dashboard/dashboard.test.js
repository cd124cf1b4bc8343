// gateway-sim's dashboard (/_sim/ui) in a real browser: Debian's Chromium, headless, driven by
// playwright-core (no browser download: CHROMIUM_BIN, else /usr/bin/chromium).
//
// Starts the release binary (GATEWAY_SIM_BIN, else $CARGO_TARGET_DIR/release/gateway-sim) on
// 127.0.0.1:0 with two scenario files, makes payments the way a merchant's service would, and
// checks that the page shows them without a reload, finds one by its order reference with its
// history, and switches the behaviour. A second run checks the page under --admin-token.
// With DASHBOARD_SCREENSHOT set, saves a 1280x800 screenshot there (the README's).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { WAIT, browser, startSimulator } from './harness.js';

const screenshot = process.env.DASHBOARD_SCREENSHOT;

/** Two scenario files in a fresh directory: `calm` (in force at start) and `stormy`. */
function scenarioFiles(dir) {
  const calm = path.join(dir, 'calm.toml');
  const stormy = path.join(dir, 'stormy.toml');
  fs.writeFileSync(calm, '[gateway]\nseed = 11\n');
  fs.writeFileSync(stormy, [
    '[gateway]',
    'seed = 12',
    '[gateway.declines]',
    'rate = 0.25',
    '[gateway.faults]',
    'http_503 = 0.05',
    '',
  ].join('\n'));
  return [calm, stormy];
}

/** A merchant's request to the native API, as a local service would send it. */
async function merchant(sim, method, urlPath, body, key) {
  const headers = { Authorization: 'Bearer sk_test_x', 'Content-Type': 'application/json' };
  if (key) headers['Idempotency-Key'] = key;
  const response = await fetch(`${sim.url}${urlPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

function charge(reference, extra = {}) {
  return { amount: 1999, currency: 'usd', payment_method: 'pm_card_visa', reference, ...extra };
}

test('the dashboard shows a new payment live, finds it by reference and switches the behaviour', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-sim-scenarios-'));
  const [calm, stormy] = scenarioFiles(dir);
  const sim = await startSimulator(['--scenario', calm, '--scenario', stormy]);
  const chrome = await browser();
  const { page } = chrome;
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // Refused requests (the bad config below) are logged by the browser too; they are
    // checked where they happen.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  try {
    // The page loads, with counters, and polls on its own.
    await page.goto(`${sim.url}/_sim/ui`);
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await page.locator('#by-status dd[data-figure="succeeded"]').filter({ hasText: /^0$/ }).waitFor(WAIT);
    assert.equal(await page.locator('#active-scenario').textContent(), 'calm');

    // A payment made now appears without a reload: in the counters and the ledger's tail.
    const made = await merchant(sim, 'POST', '/v1/payments', charge('order-ui-1'), 'order-ui-1-charge');
    assert.equal(made.status, 200, JSON.stringify(made.json));
    const id = made.json.id;
    await page.locator('#by-status dd[data-figure="succeeded"]').filter({ hasText: /^1$/ }).waitFor(WAIT);
    await page.locator('#ledger-tail tbody tr', { hasText: 'order-ui-1' }).first().waitFor(WAIT);
    assert.equal(await page.locator('#captured-total').textContent(), '1999');

    // Found by its order reference, with its history: ledger entries, changes and events, key.
    await page.fill('#lookup-input', 'order-ui-1');
    await page.click('#lookup-button');
    const history = page.locator(`#lookup-result article[data-payment="${id}"]`);
    await history.waitFor(WAIT);
    const text = await history.textContent();
    for (const expected of ['authorization', 'capture', 'payment.succeeded', 'order-ui-1-charge', 'sk_test_x']) {
      assert.ok(text.includes(expected), `the history shows ${expected}: ${text}`);
    }
    // The shown history follows the payment: a refund appears in it without searching again.
    const refunded = await merchant(sim, 'POST', `/v1/payments/${id}/refunds`, { amount: 500 });
    assert.equal(refunded.status, 200, JSON.stringify(refunded.json));
    await history.locator('text=refund.succeeded').first().waitFor(WAIT);

    // A merchant's reference is shown as text, never run as markup.
    const hostile = '<img src=x id=injected onerror="window.injected=1">';
    assert.equal((await merchant(sim, 'POST', '/v1/payments', charge(hostile))).status, 200);
    await page.locator('#ledger-tail tbody tr', { hasText: hostile }).first().waitFor(WAIT);
    assert.equal(await page.locator('#injected').count(), 0);
    assert.equal(await page.evaluate(() => window.injected), undefined);

    // Switching the behaviour to the second scenario changes what /_sim/config answers.
    await page.click('#scenario-list button[data-scenario="stormy"]');
    await page.locator('#active-scenario', { hasText: 'stormy' }).waitFor(WAIT);
    await page.locator('#config-message', { hasText: 'Switched to stormy' }).waitFor(WAIT);
    const config = await (await fetch(`${sim.url}/_sim/config`)).json();
    assert.equal(config.gateway.declines.rate, 0.25);
    assert.equal(config.gateway.faults.http_503, 0.05);
    assert.match(await page.inputValue('#config-editor'), /"rate": 0\.25/);

    // The editor is checked like PUT /_sim/config: a bad value is refused, naming the field.
    await page.fill('#config-editor', '{"declines": {"rate": 7}}');
    await page.click('#config-apply');
    await page.locator('#config-message.error', { hasText: 'gateway.declines.rate' }).waitFor(WAIT);
    assert.equal((await (await fetch(`${sim.url}/_sim/config`)).json()).gateway.declines.rate, 0.25);

    if (screenshot) await saveScreenshot(sim, page, id);
    assert.deepEqual(problems, []);
  } finally {
    await chrome.close();
    sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The page under some traffic (charges, authorizations, declines and injected 503s from the
 *  stormy scenario), with a payment looked up: the README's picture. */
async function saveScreenshot(sim, page, id) {
  await page.click('#scenario-list button[data-scenario="stormy"]');
  await page.locator('#config-message', { hasText: 'Switched to stormy' }).waitFor(WAIT);
  await page.fill('#lookup-input', 'order-ui-1');
  await page.click('#lookup-button');
  await page.locator(`#lookup-result article[data-payment="${id}"]`).waitFor(WAIT);
  // Orders arrive for two seconds, so the counters and requests/s show them.
  const traffic = (async () => {
    for (let n = 2; n <= 41; n += 1) {
      const capture = n % 4 !== 0;
      await merchant(sim, 'POST', '/v1/payments',
        charge(`order-ui-${n}`, { amount: 1000 + n * 25, capture }), `order-ui-${n}-charge`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await page.waitForTimeout(2200);
  await page.evaluate(() => window.scrollTo(0, 0));
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
  await traffic;
}

test('under --admin-token the page asks for the token and sends it', async () => {
  const sim = await startSimulator(['--admin-token', 's3cret-ui']);
  const chrome = await browser();
  const { page } = chrome;
  const sent = [];
  page.on('request', (r) => {
    if (r.url().includes('/_sim/stats')) sent.push(r.headers()['x-admin-token']);
  });
  try {
    await page.goto(`${sim.url}/_sim/ui`);
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible', ...WAIT });
    assert.equal(await page.locator('#token-error').isVisible(), false);

    // A wrong token is refused, and the page asks again, saying so.
    await page.fill('#token-input', 'guess');
    await page.click('#token-submit');
    await page.locator('#token-error').waitFor({ state: 'visible', ...WAIT });

    await page.fill('#token-input', 's3cret-ui');
    await page.click('#token-submit');
    await page.locator('#connection[data-state="live"]').waitFor(WAIT);
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    await page.locator('#by-status dd[data-figure="succeeded"]').waitFor(WAIT);
    assert.ok(sent.includes('s3cret-ui'), `the token was sent as X-Admin-Token: ${sent}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('gateway-sim.admin-token')), 's3cret-ui');

    // The data behind the page stays closed to requests without it.
    assert.equal((await fetch(`${sim.url}/_sim/stats`)).status, 401);
  } finally {
    await chrome.close();
    sim.stop();
  }
});
