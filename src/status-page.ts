// The status page at GET / on the admin endpoint: one self-contained document (no CDN, works offline) that
// renders the StatusSnapshot pushed over /events (SSE), polling /status.json when SSE is missing or stalls,
// and has buttons for POST /reload and POST /alerts/test.
// The script is ES5 (IE11 on an old Windows Server console can run it) and inserts text only through
// textContent: client labels, nicknames and warnings come from the network.
import { ALERT_EVENTS } from './alerts/alert.ts';

export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>onebot-relay</title>
<link id="favicon" rel="icon" href="data:,">
<style>
:root{--bg:#f3f5f8;--card:#fff;--fg:#17202b;--muted:#5a6472;--line:#e1e6ed;--head:#17202b;--ok:#0f7a3d;--okbg:#e3f4e9;--warn:#8a5100;--warnbg:#fff2d6;--bad:#b42318;--badbg:#fde7e5;--link:#1f56c4}
@media (prefers-color-scheme:dark){:root{--bg:#0f141a;--card:#182029;--fg:#e6ebf1;--muted:#9aa6b4;--line:#2a3440;--head:#0a0e13;--ok:#5fd08c;--okbg:#123322;--warn:#f3b54a;--warnbg:#3a2a0c;--bad:#ff8a80;--badbg:#3d1614;--link:#8ab4ff}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f3f5f8;background:var(--bg);color:#17202b;color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
a{color:var(--link)}
.mono,code,td.mono{font-family:ui-monospace,SFMono-Regular,Consolas,"Liberation Mono",Menlo,monospace;font-size:.92em}
header{position:sticky;top:0;z-index:1;background:#17202b;background:var(--head);color:#fff}
.bar{max-width:1640px;margin:0 auto;display:flex;align-items:center;justify-content:space-between;gap:12px;padding:10px 20px}
header .brand{font-size:17px;font-weight:650;white-space:nowrap}
header .brand span{font-weight:400;opacity:.7;font-size:13px;margin-left:6px}
.live{display:flex;align-items:center;gap:8px;font-size:13px;text-align:right}
.dot{flex:none;width:10px;height:10px;border-radius:50%;background:#8792a0}
.live.live .dot{background:#3ddc84;box-shadow:0 0 0 0 rgba(61,220,132,.6);animation:pulse 2s infinite}
.live.polling .dot{background:#6aa6ff}.live.reconnecting .dot,.live.auth .dot{background:#ffb020}
@keyframes pulse{70%{box-shadow:0 0 0 8px rgba(61,220,132,0)}100%{box-shadow:0 0 0 0 rgba(61,220,132,0)}}
@media (prefers-reduced-motion:reduce){.live.live .dot{animation:none}}
main{max-width:1640px;margin:0 auto;padding:16px 20px 8px}
.stale main>*{opacity:.55}.stale main>.note{opacity:1}
.note{margin:0 0 12px;padding:8px 14px;border-radius:8px;background:var(--warnbg);color:var(--warn);font-weight:600}
.banner{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;padding:14px 18px;border-radius:10px;border-left:6px solid #8792a0;background:var(--card);margin-bottom:16px}
.banner .word{font-size:26px;font-weight:700;letter-spacing:.01em}
.banner .summary{color:var(--muted);min-width:0;overflow-wrap:anywhere}
.banner ul{flex-basis:100%;margin:4px 0 0;padding-left:20px;overflow-wrap:anywhere}
.banner.up{border-color:var(--ok);background:var(--okbg)}.banner.up .word{color:var(--ok)}
.banner.degraded{border-color:var(--warn);background:var(--warnbg)}.banner.degraded .word{color:var(--warn)}
.banner.down{border-color:var(--bad);background:var(--badbg)}.banner.down .word{color:var(--bad)}
.row{display:grid;gap:16px;grid-template-columns:minmax(0,1fr);margin-bottom:16px}
@media (min-width:960px){.row.a{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}.row.b{grid-template-columns:minmax(0,2fr) minmax(0,3fr)}}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;min-width:0}
#endpoints .card,#accounts-card,#alerts-card{margin-bottom:16px}
h2{margin:0 0 10px;font-size:13px;font-weight:650;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
h2 .count{font-weight:400;text-transform:none;letter-spacing:0}
h3{margin:0 0 8px;font-size:15px;font-weight:600;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:6px 18px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere;font-variant-numeric:tabular-nums}
.tiles{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.tile{border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.tile b{display:block;font-size:26px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.2}
.tile span{color:var(--muted);font-size:13px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
.traffic{display:flex;flex-direction:column}.chart{flex:1;display:flex;flex-direction:column;margin-top:12px}
.plot{position:relative;flex:1;min-height:70px;border-bottom:1px solid var(--line)}.plot svg{position:absolute;left:0;top:0;width:100%;height:100%}
.chart polyline{fill:none;stroke-width:2;stroke-linejoin:round;vector-effect:non-scaling-stroke}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;color:var(--muted);font-size:12px;margin-top:4px}
.legend i{display:inline-block;width:12px;height:3px;border-radius:2px;vertical-align:middle;margin-right:5px}
.ev{stroke:#2f6fdf;background:#2f6fdf}.ca{stroke:#d9730d;background:#d9730d}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th{text-align:left;font-size:12px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;border-bottom:2px solid var(--line)}
th,td{padding:7px 10px;white-space:nowrap;vertical-align:top}
td{border-bottom:1px solid var(--line)}
tr:last-child td{border-bottom:0}
th.n,td.n{text-align:right}
td.err{white-space:normal;min-width:220px;overflow-wrap:anywhere;color:var(--bad)}
td small{display:block;color:var(--muted)}
.hot{color:var(--bad);font-weight:600}.warm{color:var(--warn);font-weight:600}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:650;background:var(--line);color:var(--fg)}
.b-ok{background:var(--okbg);color:var(--ok)}.b-warn{background:var(--warnbg);color:var(--warn)}.b-bad{background:var(--badbg);color:var(--bad)}
.empty{color:var(--muted);margin:4px 0}
#warnings ul{list-style:none;margin:0;padding:0;max-height:420px;overflow-y:auto}
#warnings li{padding:7px 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
#warnings li:last-child{border-bottom:0}
#warnings .meta{color:var(--muted);font-size:13px;margin-right:6px;font-variant-numeric:tabular-nums}
footer{max-width:1640px;margin:0 auto;padding:0 20px 20px;color:var(--muted);font-size:13px}
#alerts h3{margin:12px 0 6px;font-size:13px;color:var(--muted);font-weight:600}#alerts h3:first-child{margin-top:0}
#alerts ul{list-style:none;margin:0;padding:0;max-height:300px;overflow-y:auto}
#alerts li{padding:6px 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}#alerts li:last-child{border-bottom:0}
#alerts .meta{color:var(--muted);font-size:13px;margin-right:6px;font-variant-numeric:tabular-nums}
h2 button,footer button{font:inherit;color:var(--link);background:var(--card);border:1px solid var(--line);border-radius:6px;padding:1px 9px;cursor:pointer}
@media (max-width:600px){.bar{padding:8px 12px}main{padding:12px 12px 4px}footer{padding:0 12px 16px}.banner .word{font-size:22px}.tile b{font-size:22px}.card{padding:12px}th,td{padding:7px 6px}
table.stack thead{display:none}table.stack,table.stack tbody{display:block}
table.stack tr{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);column-gap:18px;padding:8px 0;border-bottom:1px solid var(--line)}
table.stack tr:last-child{border-bottom:0}
table.stack td{display:flex;justify-content:space-between;gap:8px;padding:2px 0;border:0;white-space:normal;min-width:0}
table.stack td:before{content:attr(data-label);color:var(--muted);font-size:13px}
table.stack td:first-child,table.stack td.err,table.stack td.none{grid-column:1/-1}table.stack td:first-child{display:block;padding-bottom:4px;overflow-wrap:anywhere}
table.stack td:first-child:before{content:none}table.stack td.err{display:block}table.stack td.err:before{content:attr(data-label) ": "}
table.stack.four tr{grid-template-columns:repeat(4,minmax(0,1fr));column-gap:8px}table.stack.four td{display:block;text-align:left}table.stack.four td:before{display:block;font-size:12px}}
</style>
</head>
<body>
<header><div class="bar"><div class="brand">onebot-relay<span id="version" data-testid="version"></span></div>
<div id="live" class="live connecting" data-testid="live" data-state="connecting"><span class="dot"></span><span id="live-text">Connecting…</span></div></div></header>
<main>
<noscript><p class="card">This page needs JavaScript. The same data is at <a href="status.json">status.json</a> (add <code>?access_token=…</code> when the relay has an admin token).</p></noscript>
<p id="stale" class="note" data-testid="stale" hidden></p>
<section id="health" class="banner" data-testid="health" data-status=""><div class="word" id="health-word">Loading…</div><div class="summary" id="health-summary"></div><ul id="health-reasons" data-testid="health-reasons"></ul></section>
<div class="row a">
<section class="card" data-testid="link"><h2 id="link-title">Upstream link</h2><dl id="link"></dl></section>
<section class="card traffic"><h2>Traffic</h2><div class="tiles">
<div class="tile"><b id="events-per-s" data-testid="events-per-s">–</b><span>events/s</span></div>
<div class="tile"><b id="calls-per-s" data-testid="calls-per-s">–</b><span>calls/s</span></div>
<div class="tile"><b id="events-received" data-testid="events-received">–</b><span>events received</span></div>
<div class="tile"><b id="clients-connected" data-testid="clients-connected">–</b><span>clients connected</span></div>
<div class="tile"><b id="duplicates" data-testid="duplicates">–</b><span>duplicates dropped</span></div>
<div class="tile"><b id="spool" data-testid="spool">–</b><span id="spool-label">kept on disk</span></div>
</div><div class="chart"><div class="plot"><svg viewBox="0 0 300 70" preserveAspectRatio="none" aria-hidden="true"><polyline id="spark-e" class="ev" points=""/><polyline id="spark-c" class="ca" points=""/></svg></div>
<div class="legend"><span><i class="ev"></i>events/s</span><span><i class="ca"></i>calls/s</span><span>last 2 minutes</span><span id="spark-peak"></span></div></div></section>
</div>
<section class="card" id="accounts-card" data-testid="accounts" hidden><h2>Accounts <span class="count" id="accounts-count"></span></h2><div id="accounts"></div></section>
<section class="card" id="alerts-card" data-testid="alerts"><h2>Alerts <span class="count" id="alerts-count"></span> <button type="button" id="test-alert" data-testid="test-alert">Send a test alert</button> <span class="count" id="test-alert-result" data-testid="test-alert-result"></span></h2><div id="alerts"></div></section>
<section class="card" id="groups-card" data-testid="groups" hidden><h2>Groups: who answers <span class="count" id="groups-count"></span></h2><div id="groups"></div></section>
<div id="endpoints" data-testid="endpoints"></div>
<div class="row b">
<section class="card" data-testid="calls"><h2>Call latency <span class="count" id="calls-count"></span></h2><div id="calls"></div></section>
<section class="card" data-testid="warnings"><h2>Recent warnings <span class="count" id="warnings-count"></span></h2><div id="warnings"></div></section>
</div>
</main>
<footer>Updated <span id="updated">never</span> · <a id="json-link" href="status.json">status.json</a> · <a id="metrics-link" href="metrics">metrics</a> · <button type="button" id="reload" data-testid="reload">Reload settings</button> <span id="reload-result" data-testid="reload-result"></span></footer>
<script>
(function () {
  'use strict';
  var m = /[?&]access_token=([^&#]*)/.exec(location.search);
  var q = m ? '?access_token=' + m[1] : '';
  var started = new Date().getTime(), last = 0, via = '', auth = '', polling = false, es = null, seen = {};
  var samples = { e: [], c: [] }, KEEP = 120;
  var WORDS = { up: 'Up', degraded: 'Degraded', down: 'Down' };
  var COLORS = { up: '%230f7a3d', degraded: '%23d98e04', down: '%23b42318' };
  var LINK = [['state', 'State'], ['target', 'Target'], ['since', 'For'], ['reconnects', 'Reconnects'], ['last-down', 'Last drop'],
    ['heartbeat', 'Last heartbeat'], ['self-id', 'Self ID'], ['nickname', 'Nickname'], ['pending', 'Pending calls'], ['sends', 'Sends'], ['uptime', 'Relay uptime']];

  function $(id) { return document.getElementById(id); }
  function now() { return new Date().getTime(); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function setText(e, s) { s = String(s); if (e.textContent !== s) e.textContent = s; }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  /** Rebuild a part only when its data changed, so that a selection or a scroll position survives the next second. */
  function changed(key, data) { var j = JSON.stringify(data); if (seen[key] === j) return false; seen[key] = j; return true; }
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function clock(iso) {
    var d = new Date(iso), t = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    return d.toDateString() === new Date().toDateString() ? t : d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + t;
  }
  function dur(ms) {
    if (ms < 10000) return (Math.max(0, ms) / 1000).toFixed(1) + ' s';
    var s = Math.floor(ms / 1000), mi = Math.floor(s / 60), h = Math.floor(mi / 60), d = Math.floor(h / 24);
    if (s < 60) return s + ' s';
    if (mi < 60) return mi + ' min ' + (s % 60) + ' s';
    if (h < 24) return h + ' h ' + (mi % 60) + ' min';
    return d + ' d ' + (h % 24) + ' h';
  }
  function num(n) { return Number(n).toLocaleString('en-US'); }
  function rate(n) { return n < 100 ? n.toFixed(1) : num(Math.round(n)); }
  function ms(n) { return n >= 1000 ? (n / 1000).toFixed(2) + ' s' : (n % 1 === 0 || n >= 10 ? Math.round(n) : n.toFixed(n < 1 ? 2 : 1)) + ' ms'; }
  function bytes(n) { return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB'; }
  function sends(x) { return num(x.per_minute) + '/min · ' + num(x.queued) + ' queued · ' + num(x.delayed) + ' delayed · ' + num(x.rejected) + ' rejected'; }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  /** A table in a box that scrolls sideways; "stack" ones turn each row into a card on a phone. */
  function table(heads, key, cls) {
    var wrap = el('div', 'scroll'), t = add(wrap, el('table', cls)), hr = add(add(t, el('thead')), el('tr'));
    for (var i = 0; i < heads.length; i++) add(hr, el('th', heads[i].charAt(0) === '#' ? 'n' : '', heads[i].replace('#', '')));
    wrap.setAttribute('data-key', key);
    return { wrap: wrap, body: add(t, el('tbody')), heads: heads };
  }
  function cell(t, tr, text, cls) {
    var td = add(tr, el('td', cls, text));
    td.setAttribute('data-label', t.heads[tr.childNodes.length - 1].replace('#', ''));
    return td;
  }
  function chart(rates) {
    samples.e.push(rates.events_per_s);
    samples.c.push(rates.calls_per_s);
    if (samples.e.length > KEEP) { samples.e.shift(); samples.c.shift(); }
    var peak = 0, i;
    for (i = 0; i < samples.e.length; i++) peak = Math.max(peak, samples.e[i], samples.c[i]);
    var top = Math.max(1, peak);
    function line(values) {
      var pts = [];
      for (var j = 0; j < values.length; j++) pts.push(((KEEP - values.length + j) * 300 / (KEEP - 1)).toFixed(1) + ',' + (68 - values[j] / top * 64).toFixed(1));
      return pts.join(' ');
    }
    $('spark-e').setAttribute('points', line(samples.e));
    $('spark-c').setAttribute('points', line(samples.c));
    setText($('spark-peak'), 'peak ' + rate(peak) + '/s');
  }

  (function () {
    var dl = $('link');
    for (var i = 0; i < LINK.length; i++) {
      add(dl, el('dt', '', LINK[i][1]));
      add(dl, el('dd')).setAttribute('data-testid', LINK[i][0]);
    }
    $('json-link').href = 'status.json' + q;
    $('metrics-link').href = 'metrics' + q;
  })();
  function field(key) { return document.querySelector('#link [data-testid="' + key + '"]'); }

  function render(s) {
    last = now();
    var h = s.health, L = h.link, at = Date.parse(s.time);
    setText($('version'), 'v' + s.version);
    setText($('updated'), clock(s.time));
    var b = $('health');
    b.className = 'banner ' + h.status;
    b.setAttribute('data-status', h.status);
    setText($('health-word'), WORDS[h.status] || h.status);
    var who = h.self_id === null ? 'bot not identified yet' : (h.nickname ? h.nickname + ' (' + h.self_id + ')' : 'bot ' + h.self_id);
    var n = h.accounts.length, linked = 0;
    for (var k = 0; k < n; k++) if (h.accounts[k].link.state === 'up') linked++;
    var where = n > 1 ? linked + ' of ' + n + ' accounts linked' : (L.state === 'up' ? 'Linked to ' : 'Not linked to ') + L.target + ' · ' + who;
    setText($('health-summary'), where + ' · ' + plural(h.clients, 'client') + ' connected');
    setText($('link-title'), n > 1 ? 'Upstream link of the default account' : 'Upstream link');
    if (changed('reasons', h.reasons)) {
      clear($('health-reasons'));
      for (var r = 0; r < h.reasons.length; r++) add($('health-reasons'), el('li', '', h.reasons[r]));
    }
    document.title = (WORDS[h.status] || h.status) + ' · onebot-relay' + (h.nickname ? ' · ' + h.nickname : '');
    $('favicon').href = 'data:image/svg+xml,' + "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><circle cx='8' cy='8' r='7' fill='" + (COLORS[h.status] || '%23888') + "'/></svg>";

    if (changed('state', L.state)) {
      var st = field('state'); clear(st);
      add(st, el('span', 'badge ' + (L.state === 'up' ? 'b-ok' : L.state === 'down' ? 'b-bad' : 'b-warn'), L.state));
    }
    setText(field('target'), L.target);
    setText(field('since').previousSibling, L.state === 'up' ? 'Up for' : L.state === 'down' ? 'Down for' : 'Connecting for');
    setText(field('since'), dur(at - Date.parse(L.since)) + ' (since ' + clock(L.since) + ')');
    setText(field('reconnects'), num(h.reconnects));
    var d = L.last_down;
    setText(field('last-down'), d ? d.reason + ' · by ' + d.by + (d.code !== undefined && d.reason.indexOf(String(d.code)) < 0 ? ', code ' + d.code : '') : 'none');
    setText(field('heartbeat'), L.last_heartbeat_age_ms === null ? 'none received' : dur(L.last_heartbeat_age_ms) + ' ago');
    setText(field('self-id'), h.self_id === null ? 'unknown' : h.self_id);
    setText(field('nickname'), h.nickname === null ? 'unknown' : h.nickname);
    setText(field('pending'), num(h.pending_calls));
    setText(field('sends'), sends(h.sends));
    setText(field('uptime'), dur(h.uptime_s * 1000));

    setText($('events-per-s'), rate(s.rates.events_per_s));
    setText($('calls-per-s'), rate(s.rates.calls_per_s));
    setText($('events-received'), num(s.events_received));
    setText($('clients-connected'), num(h.clients));
    setText($('duplicates'), num(s.duplicates.repeated + s.duplicates.other_account));
    setText($('spool'), !s.spool ? 'off' : s.spool.problem ? 'memory only' : bytes(s.spool.bytes));
    setText($('spool-label'), !s.spool ? 'spool (memory only)' : s.spool.problem ? 'spool cannot be written: ' + s.spool.problem : 'kept on disk');
    chart(s.rates);

    var scrolls = {}, boxes = document.querySelectorAll('.scroll[data-key]'), i;
    for (i = 0; i < boxes.length; i++) scrolls[boxes[i].getAttribute('data-key')] = boxes[i].scrollLeft;
    renderAccounts(h.accounts, at);
    if (changed('groups', s.groups)) renderGroups(s.groups);
    if (changed('endpoints', s.endpoints)) renderEndpoints(s.endpoints);
    if (changed('calls', s.calls)) renderCalls(s.calls);
    if (changed('warnings', s.warnings)) renderWarnings(s.warnings);
    if (changed('alerts', [s.alerts, Math.floor(at / 10000)])) renderAlerts(s.alerts, at);
    boxes = document.querySelectorAll('.scroll[data-key]');
    for (i = 0; i < boxes.length; i++) if (scrolls[boxes[i].getAttribute('data-key')]) boxes[i].scrollLeft = scrolls[boxes[i].getAttribute('data-key')];
  }

  /** One row per account when the relay serves several (with one, the link card says it all). */
  function renderAccounts(list, at) {
    var card = $('accounts-card'), rows = [];
    card.hidden = list.length < 2;
    if (list.length < 2) return;
    for (var i = 0; i < list.length; i++) {
      var a = list[i];
      rows.push([a.self_id, a.nickname, a.status, a.link.state, a.online, a.good, Math.round((at - Date.parse(a.link.since)) / 1000),
        a.reconnects, rate(a.events_per_s), rate(a.calls_per_s), a.pending_calls, a.clients, a.link.target, sends(a.sends)]);
    }
    if (!changed('accounts', rows)) return;
    var box = $('accounts');
    clear(box);
    setText($('accounts-count'), '· ' + list.length);
    var t = table(['Account', 'Health', 'QQ', 'For', '#Reconnects', '#Events/s', '#Calls/s', '#Pending', '#Clients', 'Sends', 'Link'], 'accounts', 'stack');
    add(box, t.wrap);
    for (var j = 0; j < list.length; j++) {
      var c = list[j], r = rows[j], tr = add(t.body, el('tr'));
      tr.setAttribute('data-testid', 'account-row');
      tr.setAttribute('data-self-id', String(c.self_id));
      var who = cell(t, tr, c.self_id === null ? 'not identified yet' : String(c.self_id), 'mono');
      if (c.nickname) add(who, el('small', '', c.nickname));
      add(cell(t, tr, ''), el('span', 'badge ' + (c.status === 'up' ? 'b-ok' : c.status === 'down' ? 'b-bad' : 'b-warn'), c.status));
      cell(t, tr, c.link.state !== 'up' ? '–' : c.online ? (c.good ? 'online' : 'online, not good') : 'offline', c.link.state === 'up' && !c.online ? 'err' : '');
      cell(t, tr, dur(r[6] * 1000));
      cell(t, tr, num(c.reconnects), 'n');
      cell(t, tr, r[8], 'n');
      cell(t, tr, r[9], 'n');
      cell(t, tr, num(c.pending_calls), 'n');
      cell(t, tr, num(c.clients), 'n');
      cell(t, tr, r[13]);
      cell(t, tr, c.link.target + (c.reasons.length ? ' · ' + c.reasons.join('; ') : ''), 'mono');
    }
  }

  /** With groupDedupe: each group and the account that answers in it (its primary). */
  function renderGroups(list) {
    var box = $('groups');
    $('groups-card').hidden = !list.length;
    clear(box);
    setText($('groups-count'), '· ' + list.length);
    var t = table(['Group', 'Answers as', 'Accounts in it'], 'groups', 'stack');
    add(box, t.wrap);
    for (var i = 0; i < list.length; i++) {
      var g = list[i], tr = add(t.body, el('tr'));
      tr.setAttribute('data-testid', 'group-row');
      cell(t, tr, String(g.group_id), 'mono');
      cell(t, tr, g.primary === null ? 'no account can answer' : String(g.primary), g.primary === null ? 'err mono' : 'mono');
      cell(t, tr, g.accounts.join(', '), 'mono');
    }
  }

  function renderEndpoints(list) {
    var box = $('endpoints');
    clear(box);
    for (var i = 0; i < list.length; i++) {
      var ep = list[i], card = add(box, el('section', 'card')), up = 0;
      card.setAttribute('data-testid', 'endpoint');
      for (var k = 0; k < ep.clients.length; k++) if (ep.clients[k].connected) up++;
      var h2 = add(card, el('h2', '', 'Endpoint '));
      add(h2, el('span', 'count', '· ' + up + ' of ' + ep.clients.length + ' connected'));
      add(card, el('h3', 'mono', ep.name)).setAttribute('data-testid', 'endpoint-name');
      if (!ep.clients.length) { add(card, el('p', 'empty', 'No clients connected.')); continue; }
      var t = table(['Client', 'Role', 'State', 'Since', '#Queue', '#Delivered', '#Buffered', '#Dropped', '#Failed', 'Last error'], 'ep' + i, 'stack');
      add(card, t.wrap);
      for (var j = 0; j < ep.clients.length; j++) {
        var c = ep.clients[j], tr = add(t.body, el('tr'));
        tr.setAttribute('data-testid', 'client-row');
        tr.setAttribute('data-connected', String(c.connected));
        var who = cell(t, tr, c.name === undefined ? '' : c.name, 'mono');
        if (c.name === undefined) who.textContent = c.label; else add(who, el('small', '', c.label));
        cell(t, tr, c.role);
        var post = c.role === 'post';
        add(cell(t, tr, ''), el('span', 'badge ' + (c.connected ? 'b-ok' : 'b-warn'), c.connected ? (post ? 'reachable' : 'connected') : (post ? 'unreachable' : 'away')));
        cell(t, tr, c.since ? clock(c.since) : '–');
        cell(t, tr, bytes(c.queueBytes), 'n');
        cell(t, tr, num(c.delivered), 'n');
        cell(t, tr, num(c.buffered), 'n' + (c.buffered ? ' warm' : ''));
        cell(t, tr, num(c.dropped), 'n' + (c.dropped ? ' hot' : ''));
        cell(t, tr, num(c.failed), 'n' + (c.failed ? ' hot' : ''));
        cell(t, tr, c.lastError || '–', c.lastError ? 'err' : 'none');
      }
    }
  }

  function renderCalls(list) {
    var box = $('calls');
    clear(box);
    setText($('calls-count'), list.length ? '· ' + plural(list.length, 'action') : '');
    if (!list.length) { add(box, el('p', 'empty', 'No calls yet.')); return; }
    var t = table(['Action', '#Calls', '#Failed', '#p50', '#p99'], 'calls', 'stack four');
    add(box, t.wrap);
    for (var i = 0; i < list.length; i++) {
      var a = list[i], tr = add(t.body, el('tr'));
      tr.setAttribute('data-testid', 'call-row');
      tr.setAttribute('data-action', a.action);
      cell(t, tr, a.action, 'mono');
      cell(t, tr, num(a.count), 'n');
      cell(t, tr, num(a.failures), 'n' + (a.failures ? ' warm' : ''));
      cell(t, tr, ms(a.p50_ms), 'n');
      cell(t, tr, ms(a.p99_ms), 'n');
    }
  }

  function renderWarnings(list) {
    var box = $('warnings');
    clear(box);
    setText($('warnings-count'), list.length ? '· ' + list.length + ', newest first' : '');
    if (!list.length) { add(box, el('p', 'empty', 'No warnings.')); return; }
    var ul = add(box, el('ul'));
    for (var i = 0; i < list.length; i++) {
      var w = list[i], li = add(ul, el('li'));
      li.setAttribute('data-testid', 'warning');
      add(li, el('span', 'meta', clock(w.time)));
      add(li, el('span', 'badge ' + (w.level === 'error' ? 'b-bad' : 'b-warn'), w.level));
      add(li, el('span', 'meta', ' ' + w.scope));
      add(li, el('span', '', w.message));
    }
  }

  var STARTS = { link_down: 'link down', qq_offline: 'QQ offline', degraded: 'degraded', risk_control: 'risk control' };
  function alertBadge(event) {
    var bad = /down|offline|degraded|risk|stop/.test(event), good = /up|online|recovered|start/.test(event);
    return el('span', 'badge ' + (bad ? 'b-bad' : good ? 'b-ok' : ''), event);
  }

  /** What is wrong now, each channel and its state, and the latest alerts. */
  function renderAlerts(a, at) {
    var box = $('alerts'), i, li;
    clear(box);
    var failing = 0;
    for (i = 0; i < a.channels.length; i++) if (a.channels[i].state === 'failing') failing++;
    setText($('alerts-count'), '· ' + plural(a.channels.length, 'channel') + (failing ? ', ' + failing + ' failing' : '') + ' · grace ' + dur(a.grace_ms));
    add(box, el('h3', '', 'Now'));
    if (!a.current.length) add(box, el('p', 'empty', 'Nothing wrong.'));
    else {
      var now = add(box, el('ul'));
      for (i = 0; i < a.current.length; i++) {
        var c = a.current[i];
        li = add(now, el('li'));
        li.setAttribute('data-testid', 'current-alert');
        add(li, el('span', 'badge ' + (c.alerted ? 'b-bad' : 'b-warn'), (STARTS[c.event] || c.event) + (c.alerted ? '' : ' (within grace)')));
        add(li, el('span', 'meta', ' ' + c.account + ' · for ' + dur(at - Date.parse(c.since)) + (c.flaps > 1 ? ' · ' + c.flaps + ' times' : '')));
        add(li, el('span', '', c.detail));
      }
    }
    add(box, el('h3', '', 'Channels'));
    if (!a.channels.length) add(box, el('p', 'empty', 'No channels: add "alerts" to the config file, or --alert URL.'));
    else {
      var t = table(['Channel', 'Events', 'State', '#Delivered', '#Lost', '#Queued', 'Last error'], 'alert-channels', 'stack');
      add(box, t.wrap);
      for (i = 0; i < a.channels.length; i++) {
        var ch = a.channels[i], tr = add(t.body, el('tr'));
        tr.setAttribute('data-testid', 'channel-row');
        tr.setAttribute('data-state', ch.state);
        var name = cell(t, tr, ch.name, 'mono');
        add(name, el('small', '', ch.type));
        cell(t, tr, ch.events.length === ${ALERT_EVENTS.length} ? 'all' : ch.events.join(', '));
        add(cell(t, tr, ''), el('span', 'badge ' + (ch.state === 'ok' ? 'b-ok' : 'b-bad'), ch.state === 'ok' ? 'ok' : 'failing since ' + clock(ch.failing_since)));
        cell(t, tr, num(ch.delivered), 'n');
        cell(t, tr, num(ch.lost), 'n' + (ch.lost ? ' hot' : ''));
        cell(t, tr, num(ch.queued), 'n' + (ch.queued ? ' warm' : ''));
        cell(t, tr, ch.last_error || '–', ch.last_error ? 'err' : 'none');
      }
    }
    add(box, el('h3', '', 'Recent'));
    if (!a.recent.length) { add(box, el('p', 'empty', 'No alerts yet.')); return; }
    var recent = add(box, el('ul'));
    for (i = 0; i < a.recent.length && i < 20; i++) {
      var r = a.recent[i];
      li = add(recent, el('li'));
      li.setAttribute('data-testid', 'recent-alert');
      add(li, el('span', 'meta', clock(r.time)));
      add(li, alertBadge(r.event));
      add(li, el('span', '', ' ' + r.text));
      add(li, el('span', 'meta', ' → ' + (r.channels.length ? r.channels.join(', ') : 'no channel')));
    }
  }

  function connect() {
    if (!window.EventSource) return;
    es = new EventSource('events' + q);
    es.addEventListener('status', function (e) {
      via = 'live'; auth = '';
      render(JSON.parse(e.data));
      show();
    });
    es.onerror = function () {
      // A refused or failed stream (a 401, a proxy) is not retried by EventSource itself: start a new one.
      if (es.readyState === 2) { es.close(); setTimeout(connect, 5000); }
      show();
    };
  }

  // A JSON POST: the relay refuses a form post, which any site could make a browser send. done() gets the
  // status and the body; out says what is going on.
  function post(path, out, busy, done) {
    var x = new XMLHttpRequest();
    setText(out, busy);
    x.open('POST', path + q);
    x.setRequestHeader('Content-Type', 'application/json');
    x.timeout = 30000;
    x.onload = function () { done(x.status, x.responseText); };
    x.onerror = x.ontimeout = function () { setText(out, 'Cannot reach the relay'); };
    x.send('{}');
  }
  $('reload').onclick = function () {
    var out = $('reload-result');
    post('reload', out, 'Reloading…', function (status, body) {
      var at = ' at ' + clock(new Date().toISOString());
      setText(out, status === 200 ? 'Settings reloaded' + at : status === 400 ? 'Invalid settings: the running ones stay (see the warnings)' + at : 'Refused: HTTP ' + status + ' ' + body);
    });
  };
  $('test-alert').onclick = function () {
    var out = $('test-alert-result');
    post('alerts/test', out, 'Sending…', function (status, body) {
      if (status !== 200) { setText(out, 'Refused: HTTP ' + status); return; }
      var res = JSON.parse(body).results, ok = 0, bad = [];
      for (var i = 0; i < res.length; i++) if (res[i].ok) ok++; else bad.push(res[i].channel + ': ' + res[i].error);
      setText(out, !res.length ? 'No channels to test' : ok + ' of ' + res.length + ' delivered' + (bad.length ? '; failed: ' + bad.join('; ') : ''));
    });
  };

  function poll() {
    if (polling) return;
    polling = true;
    var x = new XMLHttpRequest();
    x.open('GET', 'status.json' + q);
    x.timeout = 4000;
    x.onload = function () {
      polling = false;
      if (x.status === 200) { via = 'poll'; auth = ''; render(JSON.parse(x.responseText)); }
      else if (x.status === 401 || x.status === 403) auth = x.status === 401 ? 'Access token needed: open this page as /?access_token=…' : 'Wrong access token in this address';
      show();
    };
    x.onerror = x.ontimeout = function () { polling = false; show(); };
    x.send();
  }

  /** Say how fresh the data is. */
  function show() {
    var age = now() - (last || started), state, text;
    if (auth) { state = 'auth'; text = auth; }
    else if (last && age <= 2500) { state = via === 'live' ? 'live' : 'polling'; text = via === 'live' ? 'Live' : 'Live (polling)'; }
    else if (last) { state = 'reconnecting'; text = 'Reconnecting… last update ' + dur(age) + ' ago'; }
    else { state = age > 2500 ? 'reconnecting' : 'connecting'; text = age > 2500 ? 'Cannot reach the relay; retrying…' : 'Connecting…'; }
    var live = $('live');
    live.className = 'live ' + state;
    live.setAttribute('data-state', state);
    setText($('live-text'), text);
    var stale = !!last && state !== 'live' && state !== 'polling';
    document.body.className = stale ? 'stale' : '';
    $('stale').hidden = !stale;
    if (stale) setText($('stale'), 'No update from the relay for ' + dur(age) + ': this is the last status it sent.');
  }

  connect();
  // Every second; a poll when the stream has said nothing for a while (at most one a second, never in a loop).
  setInterval(function () {
    if (now() - (last || started) > 2500) poll();
    show();
  }, 1000);
})();
</script>
</body>
</html>
`;
