// The room page: joins the live stream and wires the player, the send box, the controls,
// the stats panel and the load sender. Settings come from data-* attributes on #app.
import { Danmaku } from './danmaku.js';
import { openStream } from './stream.js';
import { wireSend } from './send.js';
import { Stats } from './stats.js';
import { wireLoad } from './load.js';
import { BlockWords, loadPrefs, savePrefs } from './prefs.js';

const MAX_LIST = 200; // items kept in the list view
const SEEN_MAX = 20000; // recent ids remembered to skip a barrage delivered twice: a replay and a gap fill
const GAP_PAGE = 1000; // records per history page when filling a gap

const app = document.getElementById('app');
const $ = (id) => app.querySelector(`[data-testid=${id}]`);
const room = app.dataset.room;
const params = new URLSearchParams(location.search);

const stats = new Stats($('stats'));
const own = new Set();
const seen = new Set();
const player = new Danmaku($('stage'), $('danmaku-layer'), {
  renderer: params.get('renderer') === 'canvas' ? 'canvas' : 'dom',
  onShown: (b) => stats.addShown(b.acceptedAt),
  onDropped: () => stats.addDropped(),
});
const list = $('live-list');
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');
const listToggle = $('ctl-list');
const block = new BlockWords($('block-form'), () => filterHistory());

// History arrives as markup; its colors are set here because the CSP forbids style attributes.
for (const li of app.querySelectorAll('[data-testid=history-item]')) {
  li.style.color = li.dataset.color;
}
filterHistory();

function filterHistory() {
  for (const li of app.querySelectorAll('[data-testid=history-item]')) {
    li.hidden = block.blocks(li.textContent);
  }
}

function listMode() {
  return reducedMotion.matches || listToggle.checked;
}

function applyListMode() {
  const on = listMode();
  list.hidden = !on;
  $('stage').hidden = on;
  if (on) player.clear();
}
reducedMotion.addEventListener('change', applyListMode);
listToggle.addEventListener('change', applyListMode);
applyListMode();

function remember(id) {
  seen.add(id);
  if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value);
}

function listItem(b, mine) {
  const li = document.createElement('li');
  li.setAttribute('data-testid', 'live-item');
  li.dataset.id = b.id;
  li.className = mine ? 'own' : '';
  li.textContent = b.text;
  li.style.color = b.color;
  return li;
}

function receive(batch) {
  stats.addOut(batch.length);
  const items = [];
  for (const b of batch) {
    if (!b || typeof b.text !== 'string' || seen.has(b.id)) continue;
    remember(b.id);
    if (block.blocks(b.text)) continue;
    const mine = own.has(b.id);
    if (listMode()) {
      items.push(listItem(b, mine));
      stats.addShown(b.acceptedAt);
    } else {
      player.push(b, mine);
    }
  }
  if (items.length) {
    list.prepend(...items.reverse());
    while (list.childElementCount > MAX_LIST) list.lastElementChild.remove();
  }
}

// A gap is what the stream could not replay: page it from history, after `after` up to
// and including `until`, where live resumed. Gaps are filled one at a time, in order.
let gaps = Promise.resolve();
function fillGap(gap) {
  gaps = gaps.then(() => pageGap(gap.after, gap.until));
}

async function pageGap(after, until) {
  let retry = 500;
  while (after < until) {
    let page;
    try {
      const q = new URLSearchParams({ after, limit: String(GAP_PAGE) });
      const res = await fetch('/api/rooms/' + encodeURIComponent(room) + '/barrages?' + q);
      if (!res.ok) throw new Error(res.status);
      page = await res.json();
    } catch {
      await new Promise((r) => setTimeout(r, retry));
      retry = Math.min(retry * 2, 15000);
      continue;
    }
    const recs = Array.isArray(page.barrages) ? page.barrages : [];
    if (!recs.length) return; // history ends early: expired
    receive(recs.filter((b) => typeof b.cursor === 'string' && b.cursor > after && b.cursor <= until));
    const next = recs[recs.length - 1].cursor;
    if (typeof next !== 'string' || next <= after) return;
    after = next;
  }
}

const conn = $('connection');
openStream(room, app.dataset.cursor, {
  onBarrages: receive,
  onGap: fillGap,
  onStats: (s) => stats.addIn(Number(s.accepted) || 0),
  onState: (state) => {
    conn.textContent = state;
    conn.dataset.state = state;
  },
});

wireSend($('send-form'), room, Number(app.dataset.maxText) || 100, (id) => {
  own.add(id);
  player.markOwn(id);
  const li = list.querySelector(`[data-id="${CSS.escape(id)}"]`);
  if (li) li.className = 'own';
});

const loadSection = $('load');
if (loadSection) wireLoad(loadSection, room);

// Display controls, restored from the last visit.
const prefs = loadPrefs();
for (const [name, id] of [
  ['speed', 'ctl-speed'],
  ['opacity', 'ctl-opacity'],
  ['area', 'ctl-area'],
  ['fontSize', 'ctl-font'],
  ['density', 'ctl-density'],
]) {
  const input = $(id);
  if (typeof prefs[name] === 'number') input.value = String(prefs[name]);
  player.set(name, Number(input.value));
  input.addEventListener('input', () => {
    prefs[name] = Number(input.value);
    player.set(name, prefs[name]);
    savePrefs(prefs);
  });
}

toggle($('ctl-pause'), 'Pause', 'Resume', (on) => (on ? player.pause() : player.resume()));
toggle($('ctl-hide'), 'Hide', 'Show', (on) => player.setHidden(on));
$('ctl-clear').addEventListener('click', () => {
  player.clear();
  list.replaceChildren();
});

function toggle(button, off, on, apply) {
  button.addEventListener('click', () => {
    const pressed = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(pressed));
    button.textContent = pressed ? on : off;
    apply(pressed);
  });
}
