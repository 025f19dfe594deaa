/**
 * GET /lb/dashboard: one self-contained page (inline CSS and JS, no CDN, charts drawn as SVG by a few lines
 * of our own) that polls /lb/stats and, given the admin token, drives the admin API. A module exporting a
 * string serves the same bytes on every runtime without reading a file.
 */

/** Served with the page: nothing may load from elsewhere, and no other site may frame its buttons. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fairway dashboard</title>
<style>
:root { --bg:#f5f6f8; --card:#fff; --fg:#1d2330; --muted:#6b7385; --line:#e3e6ec; --ok:#1f9d55; --bad:#d64545; --warn:#d99a00; --accent:#3b6fe0; --accent2:#8a5cf6; }
@media (prefers-color-scheme: dark) { :root { --bg:#12151c; --card:#1b2029; --fg:#e6e9ef; --muted:#8c94a6; --line:#2a3140; --accent:#6d95ff; --accent2:#b08cff; } }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1.5rem; padding:1rem 1.25rem; border-bottom:1px solid var(--line); background:var(--card); }
h1 { font-size:1.2rem; margin:0; letter-spacing:.02em; }
h1 span { color:var(--accent); }
.meta { color:var(--muted); font-size:.85rem; }
.totals { display:flex; flex-wrap:wrap; gap:1.25rem; margin-left:auto; }
.kpi { display:flex; flex-direction:column; min-width:4.5rem; }
.kpi b { font-size:1.25rem; font-variant-numeric:tabular-nums; }
.kpi small { color:var(--muted); font-size:.72rem; text-transform:uppercase; letter-spacing:.05em; }
main { padding:1rem 1.25rem 2rem; display:grid; gap:1rem; grid-template-columns:repeat(auto-fill,minmax(320px,1fr)); }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:1rem; display:flex; flex-direction:column; gap:.75rem; box-shadow:0 1px 2px rgba(0,0,0,.04); }
.card.down { border-color:var(--bad); }
.top { display:flex; align-items:center; gap:.5rem; min-width:0; }
.dot { width:.7rem; height:.7rem; border-radius:50%; background:var(--ok); flex:none; box-shadow:0 0 0 3px color-mix(in srgb, var(--ok) 20%, transparent); }
.down .dot { background:var(--bad); box-shadow:0 0 0 3px color-mix(in srgb, var(--bad) 20%, transparent); }
.url { font-weight:600; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:.9rem; }
.badge { margin-left:auto; font-size:.72rem; padding:.1rem .5rem; border-radius:999px; background:var(--line); color:var(--muted); text-transform:uppercase; letter-spacing:.05em; flex:none; }
.badge.drain { background:color-mix(in srgb, var(--warn) 22%, transparent); color:var(--warn); }
.badge.disabled, .badge.unhealthy { background:color-mix(in srgb, var(--bad) 18%, transparent); color:var(--bad); }
.stats { display:grid; grid-template-columns:repeat(4,1fr); gap:.5rem; }
.stat { display:flex; flex-direction:column; }
.stat b { font-variant-numeric:tabular-nums; font-size:1.05rem; white-space:nowrap; }
.stat b.bad { color:var(--bad); }
.stat small { color:var(--muted); font-size:.7rem; text-transform:uppercase; letter-spacing:.04em; }
.charts { display:grid; grid-template-columns:1fr 1fr; gap:.75rem; }
.chart { display:flex; flex-direction:column; gap:.2rem; }
.chart small { color:var(--muted); font-size:.7rem; text-transform:uppercase; letter-spacing:.04em; display:flex; justify-content:space-between; }
.chart small span { text-transform:none; letter-spacing:0; font-variant-numeric:tabular-nums; }
svg { width:100%; height:48px; display:block; border-bottom:1px solid var(--line); }
.controls { display:none; flex-wrap:wrap; gap:.4rem; align-items:center; border-top:1px solid var(--line); padding-top:.75rem; }
.admin-on .controls { display:flex; }
button, input { font:inherit; font-size:.85rem; border-radius:8px; border:1px solid var(--line); background:var(--bg); color:var(--fg); padding:.35rem .7rem; }
button { cursor:pointer; }
button:hover { border-color:var(--accent); }
button[aria-pressed=true] { background:var(--accent); border-color:var(--accent); color:#fff; cursor:default; }
.weight { display:flex; gap:.4rem; margin-left:auto; }
input[type=number] { width:4.5rem; }
.adminbar { display:flex; gap:.5rem; align-items:center; flex-wrap:wrap; }
#status { color:var(--muted); font-size:.8rem; }
#status.error { color:var(--bad); }
@media (max-width:560px) {
  header { padding:.85rem; }
  .totals { margin-left:0; width:100%; display:grid; grid-template-columns:repeat(4,1fr); gap:.5rem; }
  .kpi { min-width:0; } .kpi b { font-size:1.1rem; }
  .adminbar { width:100%; } .adminbar input { flex:1; min-width:0; }
  .stats { grid-template-columns:repeat(2,1fr); }
  main { padding:.75rem; grid-template-columns:1fr; }
}
</style>
</head>
<body>
<header>
  <h1>Fairway <span>dashboard</span></h1>
  <div class="meta"><span id="algorithm">…</span> · up <span id="uptime">…</span><span id="worker"></span></div>
  <div class="totals">
    <div class="kpi"><b id="total-rps">–</b><small>req/s</small></div>
    <div class="kpi"><b id="total-requests">–</b><small>requests</small></div>
    <div class="kpi"><b id="total-errors">–</b><small>error rate</small></div>
    <div class="kpi"><b id="total-inflight">–</b><small>in flight</small></div>
  </div>
  <form class="adminbar" id="admin-form" autocomplete="off">
    <input type="password" id="token" placeholder="admin token" aria-label="admin token">
    <button type="submit" id="token-save">Use token</button>
    <button type="button" id="token-clear">Forget</button>
  </form>
  <span id="status" role="status">connecting…</span>
</header>
<main id="servers"></main>
<script>
'use strict';
const POLL_MS = 1500;
/** About three minutes of points per chart. */
const HISTORY = 120;
const MIN_SPAN = 20;
const history = new Map(); // url -> { rps: number[], p95: number[], lastRequests, lastAt }
let lastTotals;
let adminServers = new Map(); // url -> admin view (id, adminState)
const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem('fairway-admin-token') || '';

function fmt(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}
const pct = (r) => (r === null || r === undefined ? '–' : (r * 100).toFixed(r > 0 && r < 0.1 ? 2 : 1) + '%');
const ms = (v) => (v === null || v === undefined ? '–' : fmt(v, v < 10 ? 2 : 1) + ' ms');
function duration(s) {
  if (s < 90) return Math.round(s) + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

/** A sparkline: the series scaled into a 100x40 box, with a soft area under the line. */
function sparkline(svg, values, color) {
  const w = 100, h = 40;
  const max = Math.max(1e-9, ...values);
  // Scaled to at least MIN_SPAN points, so a young chart is not a sliver at the right edge.
  const step = w / Math.max(1, Math.min(HISTORY, Math.max(MIN_SPAN, values.length)) - 1);
  const x0 = w - (values.length - 1) * step;
  const pts = values.map((v, i) => (x0 + i * step).toFixed(2) + ',' + (h - 2 - (v / max) * (h - 6)).toFixed(2));
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
  svg.setAttribute('preserveAspectRatio', 'none');
  const line = pts.join(' ');
  svg.innerHTML = '';
  if (values.length < 2) return;
  const ns = 'http://www.w3.org/2000/svg';
  const area = document.createElementNS(ns, 'polygon');
  area.setAttribute('points', x0.toFixed(2) + ',' + h + ' ' + line + ' ' + w + ',' + h);
  area.style.fill = color; // a style, not an attribute: presentation attributes do not resolve var()
  area.style.fillOpacity = '0.15';
  const pl = document.createElementNS(ns, 'polyline');
  pl.setAttribute('points', line);
  pl.style.fill = 'none';
  pl.style.stroke = color;
  pl.style.strokeWidth = '1.6';
  pl.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(area, pl);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function stat(field, label) {
  return el('div', { class: 'stat' }, el('b', { 'data-field': field }, '–'), el('small', {}, label));
}

function card(url) {
  const c = el('section', { class: 'card', 'data-server': url },
    el('div', { class: 'top' }, el('span', { class: 'dot' }), el('span', { class: 'url', title: url }, url), el('span', { class: 'badge', 'data-field': 'state' }, '')),
    el('div', { class: 'stats' }, stat('rps', 'req/s'), stat('p50', 'p50'), stat('p95', 'p95'), stat('errorRate', 'errors'),
      stat('inFlight', 'in flight'), stat('weight', 'weight'), stat('requests', 'requests'), stat('health', 'last probe')),
    el('div', { class: 'charts' },
      el('div', { class: 'chart' }, el('small', {}, 'req/s', el('span', { 'data-field': 'rps-peak' }, '')), document.createElementNS('http://www.w3.org/2000/svg', 'svg')),
      el('div', { class: 'chart' }, el('small', {}, 'p95 latency', el('span', { 'data-field': 'p95-peak' }, '')), document.createElementNS('http://www.w3.org/2000/svg', 'svg'))),
    el('div', { class: 'controls' },
      el('button', { 'data-action': 'active', 'aria-pressed': 'false' }, 'Enable'), el('button', { 'data-action': 'drain', 'aria-pressed': 'false' }, 'Drain'),
      el('button', { 'data-action': 'disabled', 'aria-pressed': 'false' }, 'Disable'),
      el('span', { class: 'weight' },
        el('input', { type: 'number', min: '1', max: '1000000', step: '1', 'aria-label': 'weight', 'data-field': 'weight-input' }),
        el('button', { 'data-action': 'weight' }, 'Set weight'))));
  c.addEventListener('click', (ev) => {
    const button = ev.target.closest('button');
    const action = button?.dataset.action;
    if (!action || button.getAttribute('aria-pressed') === 'true') return;
    if (action === 'weight') change(url, { weight: Number(c.querySelector('[data-field=weight-input]').value) });
    else change(url, { adminState: action });
  });
  return c;
}

function set(c, field, text) {
  const e = c.querySelector('[data-field="' + field + '"]');
  if (e.textContent !== text) e.textContent = text;
}

function render(stats, now) {
  $('algorithm').textContent = stats.algorithm;
  $('uptime').textContent = duration(stats.uptimeSeconds);
  $('worker').textContent = stats.worker && stats.worker.count > 1 ? ' · worker ' + stats.worker.id + ' of ' + stats.worker.count : '';
  const t = stats.totals;
  if (lastTotals) $('total-rps').textContent = fmt(Math.max(0, (t.requests - lastTotals.requests) / ((now - lastTotals.at) / 1000)));
  lastTotals = { requests: t.requests, at: now };
  $('total-requests').textContent = fmt(t.requests);
  $('total-errors').textContent = pct(t.errorRate);
  $('total-inflight').textContent = fmt(t.activeConnections);

  const main = $('servers');
  const seen = new Set();
  for (const s of stats.servers) {
    seen.add(s.url);
    let c = main.querySelector('[data-server="' + CSS.escape(s.url) + '"]');
    if (!c) main.append((c = card(s.url)));
    let h = history.get(s.url);
    if (!h) history.set(s.url, (h = { rps: [], p95: [], lastRequests: s.requests, lastAt: now }));
    else {
      const rps = Math.max(0, (s.requests - h.lastRequests) / ((now - h.lastAt) / 1000));
      h.rps.push(rps);
      h.p95.push(s.responseTimeMs ? s.responseTimeMs.p95 : 0);
      if (h.rps.length > HISTORY) { h.rps.shift(); h.p95.shift(); }
      h.lastRequests = s.requests;
      h.lastAt = now;
      set(c, 'rps', fmt(rps));
    }
    const admin = adminServers.get(s.url);
    const state = s.adminState || (admin && admin.adminState) || 'active';
    c.classList.toggle('down', !s.healthy);
    const badge = c.querySelector('[data-field=state]');
    const label = !s.healthy ? 'unhealthy' : state;
    set(c, 'state', label);
    badge.className = 'badge ' + label;
    set(c, 'p50', ms(s.responseTimeMs && s.responseTimeMs.p50));
    set(c, 'p95', ms(s.responseTimeMs && s.responseTimeMs.p95));
    set(c, 'errorRate', pct(s.errorRate));
    set(c, 'inFlight', fmt(s.activeConnections));
    set(c, 'weight', fmt(s.weight));
    set(c, 'requests', fmt(s.requests));
    const probe = s.lastHealthCheck;
    set(c, 'health', probe ? (probe.ok ? '✓ ' : '✗ ') + (probe.status || 'no answer') : '–');
    c.querySelector('[data-field=health]').classList.toggle('bad', !!probe && !probe.ok);
    for (const b of c.querySelectorAll('[aria-pressed]')) b.setAttribute('aria-pressed', String(b.dataset.action === state));
    set(c, 'rps-peak', h.rps.length ? 'max ' + fmt(Math.max(...h.rps)) : '');
    set(c, 'p95-peak', h.p95.length ? 'max ' + ms(Math.max(...h.p95)) : '');
    const input = c.querySelector('[data-field=weight-input]');
    if (document.activeElement !== input) input.value = String(s.weight);
    const [rpsChart, p95Chart] = c.querySelectorAll('svg');
    sparkline(rpsChart, h.rps, 'var(--accent)');
    sparkline(p95Chart, h.p95, 'var(--accent2)');
  }
  for (const c of [...main.children]) if (!seen.has(c.dataset.server)) c.remove();
}

/** A message from an action or a failure, shown for a few seconds instead of the "updated" time. */
let notice = null;
function status(text, isError) {
  notice = { text, isError, until: Date.now() + 4000 };
  showStatus();
}
function showStatus() {
  const s = $('status');
  const n = notice && Date.now() < notice.until ? notice : { text: 'updated ' + new Date().toLocaleTimeString(), isError: false };
  s.textContent = n.text;
  s.className = n.isError ? 'error' : '';
}

async function adminFetch(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...(init.headers || {}), authorization: 'Bearer ' + token(), 'content-type': 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || 'HTTP ' + res.status);
  return body;
}

async function refreshAdmin() {
  if (!token()) { adminServers = new Map(); document.body.classList.remove('admin-on'); return; }
  try {
    const { servers } = await adminFetch('/lb/admin/servers');
    adminServers = new Map(servers.map((s) => [s.url, s]));
    document.body.classList.add('admin-on');
  } catch (e) {
    document.body.classList.remove('admin-on');
    status('admin API: ' + e.message, true);
  }
}

async function change(url, body) {
  const server = adminServers.get(url);
  if (!server) return status('admin API: ' + url + ' is not in the admin list', true);
  try {
    await adminFetch('/lb/admin/servers/' + encodeURIComponent(server.id), { method: 'PATCH', body: JSON.stringify(body) });
    status('changed ' + url);
    await tick();
  } catch (e) {
    status('admin API: ' + e.message, true);
  }
}

async function tick() {
  try {
    const res = await fetch('/lb/stats', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const stats = await res.json();
    await refreshAdmin();
    render(stats, performance.now());
    showStatus();
  } catch (e) {
    status('cannot read /lb/stats: ' + e.message, true);
  }
}

$('admin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('fairway-admin-token', $('token').value.trim());
  $('token').value = '';
  status('token kept for this tab');
  tick();
});
$('token-clear').addEventListener('click', () => { sessionStorage.removeItem('fairway-admin-token'); status('token forgotten'); tick(); });

let timer;
function loop() { tick().finally(() => { timer = setTimeout(loop, POLL_MS); }); }
loop();
</script>
</body>
</html>
`;
