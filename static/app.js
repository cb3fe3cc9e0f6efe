// The room page: joins the live stream and wires the player, the send box, the controls,
// the stats panel and the load sender. Settings come from data-* attributes on #app.
import { Danmaku } from './danmaku.js';
import { followRoom } from './feed.js';
import { wireSend } from './send.js';
import { Stats } from './stats.js';
import { wireLoad } from './load.js';
import { wireModeration } from './moderate.js';
import { BlockWords, loadPrefs, savePrefs } from './prefs.js';
import { Recent } from './recent.js';
import { t, chooseLang } from './i18n.js';

const MAX_LIST = 200; // items kept in the list view

const app = document.getElementById('app');
const $ = (id) => app.querySelector(`[data-testid=${id}]`);
const room = app.dataset.room;
const params = new URLSearchParams(location.search);

const stats = new Stats($('stats'));
const own = new Set();
const player = new Danmaku($('stage'), $('danmaku-layer'), {
  renderer: params.get('renderer') === 'canvas' ? 'canvas' : 'dom',
  onShown: (b) => stats.addShown(b.acceptedAt),
  onDropped: () => stats.addDropped(),
});
const list = $('live-list');
const reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');
const listToggle = $('ctl-list');
const block = new BlockWords($('block-form'), () => filterHistory());
const recent = new Recent($('recent'));

// History arrives as markup; its colors are set here because the CSP forbids style attributes.
for (const li of app.querySelectorAll('[data-testid=history-item]')) {
  li.style.color = li.dataset.color;
}
filterHistory();

function filterHistory() {
  for (const li of app.querySelectorAll('[data-testid=history-item]')) {
    li.hidden = block.blocks(li.querySelector('.text')?.textContent ?? li.textContent);
  }
  recent.changed();
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

function listItem(b, mine) {
  const li = document.createElement('li');
  li.setAttribute('data-testid', 'live-item');
  li.dataset.id = b.id;
  li.className = mine ? 'own' : '';
  li.textContent = b.text;
  li.style.color = b.color;
  return li;
}

// historyItem is a live barrage in the Recent list, as the server renders one.
function historyItem(b, mine) {
  const li = document.createElement('li');
  li.setAttribute('data-testid', 'history-item');
  li.dataset.id = b.id;
  li.className = mine ? 'own' : '';
  li.style.color = b.color;
  const span = document.createElement('span');
  span.className = 'text';
  span.textContent = b.text;
  li.append(span);
  return li;
}

function receive(fresh, delivered) {
  stats.addOut(delivered);
  const items = [];
  const recents = [];
  for (const b of fresh) {
    if (block.blocks(b.text)) continue;
    const mine = own.has(b.id);
    recents.push(historyItem(b, mine));
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
  recent.add(recents);
}

const conn = $('connection');
followRoom(room, app.dataset.cursor, {
  onBarrages: receive,
  onStats: (s) => stats.addIn(Number(s.accepted) || 0),
  onRemoved: (ids) => {
    for (const id of ids) {
      player.remove(id);
      for (const li of app.querySelectorAll(`li[data-id="${CSS.escape(id)}"]`)) li.remove();
    }
    recent.changed();
  },
  onState: (state) => {
    conn.textContent = t('state.' + state);
    conn.dataset.state = state;
  },
});

$('lang-switch').addEventListener('change', (ev) => chooseLang(ev.target.value));

wireSend($('send-form'), room, Number(app.dataset.maxText) || 100, (id) => {
  own.add(id);
  player.markOwn(id);
  for (const li of app.querySelectorAll(`li[data-id="${CSS.escape(id)}"]`)) li.className = 'own';
});

const loadSection = $('load');
if (loadSection) wireLoad(loadSection, room);

const modSection = $('moderation');
if (modSection) wireModeration(modSection, room, $('history'));

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

toggle($('ctl-pause'), t('pause'), t('resume'), (on) => (on ? player.pause() : player.resume()));
toggle($('ctl-hide'), t('hide'), t('show'), (on) => player.setHidden(on));
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
