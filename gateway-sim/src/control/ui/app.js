// The dashboard: what the simulator has done, once a second, from the control plane's JSON.
//
// Every string the page shows that came from the simulator (merchant keys, order references,
// idempotency keys, scenario names, error messages) is put in with textContent, through el()
// below, never as markup: a merchant's reference is data, whatever it contains.
//
// Polling rather than server-sent events: fetch() can send the admin token as a header, which
// EventSource cannot, and a poll holds no connection open that could delay a shutdown or pile
// up behind a busy simulator (the next poll starts only when the last one has finished).
'use strict';

const POLL_MS = 1000;
const LEDGER_TAIL = 25;
const TOKEN_KEY = 'gateway-sim.admin-token';
const PAYMENT_ID = /^pay_[0-9A-Za-z]{22}$/;
const STATUSES = [
  'succeeded', 'requires_capture', 'failed', 'canceled',
  'requires_confirmation', 'requires_payment_method', 'requires_action',
];

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes, never markup. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'className') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setText(id, value) {
  $(id).textContent = value === null || value === undefined ? '–' : String(value);
}

// ---- talking to the control plane ----

class NeedToken extends Error {}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** A control-plane request with the admin token if one is kept; 401 asks for one. */
async function call(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const kept = token();
  if (kept) headers.set('X-Admin-Token', kept);
  const response = await fetch(path, { ...options, headers, cache: 'no-store' });
  if (response.status === 401) {
    $('token-button').hidden = false;
    throw new NeedToken(kept ? 'refused' : 'missing');
  }
  return response;
}

async function getJson(path) {
  const response = await call(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** The error envelope's message, or the status when the body is not one. */
async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) { /* not JSON: the status says enough */ }
  return `HTTP ${response.status}`;
}

let tokenPrompt = null;

/** Shows the token dialog (once, however many requests were refused) until one is given. */
function askForToken(refused) {
  if (tokenPrompt) return tokenPrompt;
  const dialog = $('token-dialog');
  $('token-error').hidden = !refused;
  $('token-input').value = '';
  tokenPrompt = new Promise((resolve) => {
    $('token-form').addEventListener('submit', (event) => {
      // Closed here, before anyone can ask again, rather than by the form's default action.
      event.preventDefault();
      dialog.close();
      sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
      tokenPrompt = null;
      resolve();
    }, { once: true });
  });
  if (!dialog.open) dialog.showModal();
  return tokenPrompt;
}

/** Runs `action`; when the token was missing or refused, asks for one and says so. */
async function withToken(action) {
  try {
    return await action();
  } catch (e) {
    if (e instanceof NeedToken) {
      await askForToken(e.message === 'refused');
      return undefined;
    }
    throw e;
  }
}

// ---- formatting ----

/** Simulator time (Unix ms) as UTC date and time. */
function clockTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/** Simulator time as UTC time of day: enough in a table whose rows are minutes apart. */
function timeOfDay(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

function duration(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m ${pad(s % 60)}s` : `${m}m ${pad(s % 60)}s`;
}

function money(amount, currency) {
  return currency ? `${amount} ${currency}` : String(amount);
}

function figures(list, entries) {
  list.replaceChildren(...entries.flatMap(([name, value]) => [
    el('dt', {}, name),
    el('dd', { dataset: { figure: name } }, value),
  ]));
}

/** A table whose columns named in `wrapping` may wrap (keys, ids, messages); the others
 *  (numbers, times, states) stay on one line. */
function table(headings, rows, wrapping = []) {
  const wraps = headings.map((h) => wrapping.includes(h));
  return el('table', {},
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((cells) => el('tr', {},
      cells.map((c, i) => el('td', { className: wraps[i] ? 'text' : 'line' }, c))))));
}

/** A button that looks up `query` (a payment id or an order reference). */
function lookupLink(query, label) {
  if (!query) return '';
  return el('button', {
    type: 'button',
    className: 'link',
    onclick: () => { $('lookup-input').value = query; lookUp(query); },
  }, label || query);
}

// ---- the live part: counters and the ledger's tail ----

let previousSample = null;
let ledgerShown = '';

function renderStats(stats) {
  const l = stats.ledger;
  figures($('by-status'), STATUSES.map((s) => [s.replaceAll('_', ' '), l[s]]));
  $('by-status').dataset.total = l.payments;
  setText('captured-total', l.captured_amount);
  setText('refunded-total', l.refunded_amount);
  setText('authorized-total', l.authorized_amount);
  setText('released-total', l.released_amount);
  setText('requests-total', stats.requests);
  setText('rate-limited', stats.rate_limited);
  setText('replays', l.replays);
  const faults = Object.entries(stats.faults || {});
  figures($('faults'), faults);
  $('no-faults').hidden = faults.length > 0;
  const w = stats.webhooks;
  setText('webhooks-delivered', w.delivered);
  setText('webhooks-failed', w.failed_attempts);
  setText('webhooks-pending', w.pending + w.in_flight);
  setText('webhooks-lost', w.exhausted + w.overflow);
  setText('uptime', duration(stats.uptime_ms));
  setText('sim-time', clockTime(stats.sim_time_ms));
  // Requests per second over the last poll; a reset (the count went down) starts again.
  const sample = { requests: stats.requests, at: stats.uptime_ms };
  if (previousSample && sample.at > previousSample.at && sample.requests >= previousSample.requests) {
    const rate = (sample.requests - previousSample.requests) / ((sample.at - previousSample.at) / 1000);
    setText('requests-per-second', rate.toFixed(1));
  }
  previousSample = sample;
}

function parseNdjson(text) {
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

function renderLedger(entries) {
  const shown = entries.length ? `${entries.length}:${entries[entries.length - 1].seq}` : '';
  if (shown === ledgerShown) return; // Unchanged: keep the rows, and any click under way.
  ledgerShown = shown;
  const rows = entries.slice().reverse().map((e) => el('tr', { dataset: { seq: e.seq, kind: e.kind } },
    el('td', {}, e.seq),
    el('td', {}, timeOfDay(e.time_ms)),
    el('td', { className: 'text' }, e.merchant),
    el('td', { className: 'id', title: e.payment_id }, lookupLink(e.payment_id)),
    el('td', { className: 'text' }, lookupLink(e.reference)),
    el('td', {}, e.kind, e.decline_code ? el('small', { className: 'code' }, e.decline_code) : null),
    el('td', { className: 'num' }, money(e.amount, e.currency)),
    el('td', { className: 'text' }, e.idempotency_key || '')));
  $('ledger-tail').tBodies[0].replaceChildren(...rows);
  $('ledger-empty').hidden = entries.length > 0;
}

async function refreshLive() {
  const stats = await getJson('/_sim/stats');
  renderStats(stats);
  const count = stats.ledger.ledger_entries;
  let entries = [];
  if (count > 0) {
    const from = Math.max(1, count - LEDGER_TAIL + 1);
    const response = await call(`/_sim/ledger?from=${from}`);
    if (!response.ok) throw new Error(`ledger: HTTP ${response.status}`);
    entries = parseNdjson(await response.text()).slice(-LEDGER_TAIL);
  }
  renderLedger(entries);
  renderScenarios(await getJson('/_sim/scenarios'));
  if (currentLookup) {
    // A failed lookup is the lookup's news, not the connection's.
    await refreshLookup().catch((e) => {
      if (e instanceof NeedToken) throw e;
      showLookupError(e);
    });
  }
}

function setConnection(state) {
  const pill = $('connection');
  pill.dataset.state = state;
  pill.textContent = state;
}

async function poll() {
  try {
    await refreshLive();
    setConnection('live');
  } catch (e) {
    if (e instanceof NeedToken) {
      setConnection('needs token');
      await askForToken(e.message === 'refused');
      loadConfig();
    } else {
      setConnection('offline');
    }
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

// ---- looking a payment up ----

let currentLookup = null;
let lookupShown = '';

async function fetchLookup(query) {
  if (PAYMENT_ID.test(query)) {
    const response = await call(`/_sim/payments/${encodeURIComponent(query)}`);
    if (response.ok) return [await response.json()];
    if (response.status !== 404) throw new Error(await errorMessage(response));
  }
  const response = await call(`/_sim/payments?reference=${encodeURIComponent(query)}`);
  if (!response.ok) throw new Error(await errorMessage(response));
  return (await response.json()).data;
}

async function lookUp(query) {
  currentLookup = query.trim();
  lookupShown = '';
  if (!currentLookup) return;
  await withToken(refreshLookup).catch((e) => showLookupError(e));
}

async function refreshLookup() {
  const query = currentLookup;
  const found = await fetchLookup(query);
  if (query !== currentLookup) return; // Another search started meanwhile.
  const text = JSON.stringify(found);
  if (text === lookupShown) return;
  lookupShown = text;
  const result = $('lookup-result');
  if (found.length === 0) {
    result.replaceChildren(el('p', { className: 'quiet' },
      'No payment has the id or order reference ', el('code', {}, query), '.'));
    return;
  }
  result.replaceChildren(...found.map(renderHistory));
}

function showLookupError(e) {
  lookupShown = '';
  $('lookup-result').replaceChildren(el('p', { className: 'error' }, e.message));
}

function renderHistory(h) {
  const p = h.payment || {};
  const changes = h.changes.map((c) => [
    c.seq,
    timeOfDay(c.time_ms),
    c.decline_code ? `${c.kind} (${c.decline_code})` : c.kind,
    c.status,
    c.request_id || '',
    c.idempotency_key || '',
    el('ul', { className: 'events' }, c.events.map((e) => el('li', {},
      el('span', { className: 'event-type' }, e.type), ` ${e.dialect} `,
      el('code', {}, e.id), e.delivered ? '' : ' (undelivered)'))),
  ]);
  const ledger = h.ledger.map((e) => [
    e.seq, timeOfDay(e.time_ms), e.decline_code ? `${e.kind} (${e.decline_code})` : e.kind,
    money(e.amount, e.currency), e.idempotency_key || '',
  ]);
  const keys = h.idempotency_keys.map((k) => [
    k.key, k.endpoint, k.arrivals, k.state, k.response_status === null ? '' : k.response_status,
  ]);
  const deliveries = h.webhook_deliveries.map((d) => [
    d.event_type, d.event_id, d.url, d.attempt,
    d.status === null ? (d.error || '') : d.status,
    d.outcome, (d.faults || []).join(', '),
  ]);
  const part = (title, headings, rows, none, wrapping) => el('div', { className: 'part' },
    el('h4', {}, title),
    rows.length ? table(headings, rows, wrapping) : el('p', { className: 'quiet' }, none));
  return el('article', { className: 'history', dataset: { payment: p.id || '' } },
    el('h3', {}, el('code', {}, p.id || '?'), ' ',
      el('span', { className: 'status', dataset: { status: p.status || '' } }, p.status || '?')),
    el('dl', { className: 'facts' },
      el('dt', {}, 'merchant'), el('dd', {}, h.merchant),
      el('dt', {}, 'order'), el('dd', {}, p.reference || '—'),
      el('dt', {}, 'amount'), el('dd', {}, money(p.amount, p.currency)),
      el('dt', {}, 'captured'), el('dd', {}, p.amount_captured),
      el('dt', {}, 'refunded'), el('dd', {}, p.amount_refunded),
      el('dt', {}, 'capturable'), el('dd', {}, p.amount_capturable),
      el('dt', {}, 'payment method'),
      el('dd', {}, typeof p.payment_method === 'string' ? p.payment_method
        : `card …${(p.payment_method && p.payment_method.card && p.payment_method.card.last4) || ''}`),
      p.decline_code ? [el('dt', {}, 'declined'), el('dd', {}, p.decline_code)] : null),
    part('Ledger entries', ['#', 'time', 'kind', 'amount', 'idempotency key'], ledger,
      'No money moved.', ['idempotency key']),
    part('Changes and their events', ['#', 'time', 'change', 'status after', 'request',
      'idempotency key', 'events'], changes, 'None recorded.', ['idempotency key', 'events']),
    part('Idempotency keys', ['key', 'endpoint', 'arrivals', 'state', 'stored answer'], keys,
      'Its requests carried none.', ['key']),
    part('Webhook deliveries', ['event', 'event id', 'url', 'attempt', 'status', 'outcome',
      'faults'], deliveries, 'None (no endpoint wanted its events, or they were forgotten).',
    ['event id', 'url', 'status', 'faults']),
    el('details', {}, el('summary', {}, 'As the native API shows it'),
      el('pre', {}, JSON.stringify(p, null, 2))));
}

// ---- the behaviour: scenarios and the JSON editor ----

let activeShown;
let editorDirty = false;

function say(message, isError) {
  const out = $('config-message');
  out.textContent = message;
  out.className = isError ? 'error' : 'ok';
}

function renderScenarios(list) {
  const active = list.active;
  setText('active-scenario', active || 'no named scenario (the start-up flags, or edited here)');
  $('no-scenarios').hidden = list.scenarios.length > 1;
  const key = JSON.stringify([active, list.scenarios.map((s) => s.name)]);
  if (key === activeShown) return;
  const changedElsewhere = activeShown !== undefined;
  activeShown = key;
  $('scenario-list').replaceChildren(...list.scenarios.map((s) => el('button', {
    type: 'button',
    className: s.active ? 'scenario active' : 'scenario',
    dataset: { scenario: s.name },
    'aria-pressed': String(s.active),
    onclick: () => activate(s.name),
  }, s.name)));
  // Another tab or a test switched the behaviour: show it, unless this editor holds edits.
  if (changedElsewhere && !editorDirty) loadConfig();
}

function showConfig(config) {
  $('config-editor').value = JSON.stringify(config.gateway, null, 2);
  editorDirty = false;
}

async function loadConfig() {
  await withToken(async () => showConfig(await getJson('/_sim/config')))
    .catch((e) => say(e.message, true));
}

async function activate(name) {
  await withToken(async () => {
    const response = await call(`/_sim/scenarios/${encodeURIComponent(name)}/activate`, { method: 'POST' });
    if (!response.ok) return say(await errorMessage(response), true);
    showConfig(await response.json());
    say(`Switched to ${name}.`, false);
    renderScenarios(await getJson('/_sim/scenarios'));
    return undefined;
  }).catch((e) => say(e.message, true));
}

async function applyEditor() {
  await withToken(async () => {
    const response = await call('/_sim/config', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: $('config-editor').value,
    });
    if (!response.ok) return say(await errorMessage(response), true);
    showConfig(await response.json());
    say('Applied.', false);
    return undefined;
  }).catch((e) => say(e.message, true));
}

// ---- start ----

function start() {
  $('lookup-form').addEventListener('submit', (event) => {
    event.preventDefault();
    lookUp($('lookup-input').value);
  });
  $('config-apply').addEventListener('click', applyEditor);
  $('config-reload').addEventListener('click', () => { loadConfig(); say('', false); });
  $('config-editor').addEventListener('input', () => { editorDirty = true; });
  $('token-button').addEventListener('click', () => askForToken(false).then(loadConfig));
  loadConfig();
  poll();
}

start();
