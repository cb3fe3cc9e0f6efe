// The moderation panel: once the operator has given the token, a delete and a mute control
// on each barrage of the Recent list, the room's mutes with unmute, and its settings. The
// token is the load sender's: this tab's sessionStorage only, sent as a Bearer header.
import { explain } from './problem.js';
import { t } from './i18n.js';
import { keepToken, storedToken } from './token.js';

export function wireModeration(section, room, history) {
  const q = (id) => section.querySelector(`[data-testid=${id}]`);
  const tokenForm = q('mod-token-form');
  const tokenField = q('mod-token');
  const body = q('mod-body');
  const status = q('mod-status');
  const mutes = q('mod-mutes');
  const slow = q('mod-slow');
  const words = q('mod-words');
  const minutes = q('mod-minutes');
  const name = q('mod-name');
  const base = '/api/rooms/' + encodeURIComponent(room);
  let token = storedToken();

  const say = (msg, bad) => {
    status.textContent = msg;
    status.classList.toggle('error', !!bad);
  };
  const call = async (method, path, json) => {
    const headers = { Authorization: 'Bearer ' + token };
    if (name.value.trim()) headers['X-Operator-Name'] = name.value.trim();
    if (json) headers['Content-Type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: json ? JSON.stringify(json) : undefined });
    if (res.status === 401) {
      // A refused token is not tried again on the next load, which would spend the
      // address's tries toward the wrong-token lockout.
      keepToken('');
      body.hidden = true;
      tokenForm.hidden = false;
      controls(false);
    }
    return res;
  };

  // controls adds (or takes away) delete and mute on every item of the Recent list.
  const decorate = (li) => {
    if (li.querySelector('.mod-actions')) return;
    const span = document.createElement('span');
    span.className = 'mod-actions';
    const del = document.createElement('button');
    del.type = 'button';
    del.textContent = t('mod.delete');
    del.setAttribute('data-testid', 'mod-delete');
    del.addEventListener('click', async () => {
      const res = await call('DELETE', '/barrages/' + encodeURIComponent(li.dataset.id));
      if (res.ok || res.status === 404) {
        li.remove();
        say(res.ok ? t('mod.deleted') : await explain(res), !res.ok);
      } else say(await explain(res), true);
    });
    const mute = document.createElement('button');
    mute.type = 'button';
    mute.textContent = t('mod.mute');
    mute.setAttribute('data-testid', 'mod-mute');
    mute.addEventListener('click', async () => {
      const seconds = Math.round(Number(minutes.value) * 60);
      const res = await call('POST', '/mutes', { barrage: li.dataset.id, seconds });
      if (!res.ok) return say(await explain(res), true);
      const m = await res.json();
      say(t('mod.mutedUntil', new Date(m.until).toLocaleString()));
      refresh();
    });
    span.append(del, mute);
    li.append(span);
  };
  const controls = (on) => {
    for (const li of history.querySelectorAll('[data-testid=history-item]')) {
      if (on) decorate(li);
      else li.querySelector('.mod-actions')?.remove();
    }
  };
  const watch = new MutationObserver((changes) => {
    if (body.hidden) return;
    for (const c of changes) for (const n of c.addedNodes) if (n.dataset?.testid === 'history-item') decorate(n);
  });
  watch.observe(history, { childList: true });

  const showMutes = (list) => {
    mutes.replaceChildren();
    if (!list.length) {
      const li = document.createElement('li');
      li.textContent = t('mod.noMutes');
      mutes.append(li);
    }
    for (const m of list) {
      const li = document.createElement('li');
      li.setAttribute('data-testid', 'mod-mute-item');
      const text = document.createElement('span');
      text.textContent = t('mod.muteRow', m.sender.slice(0, 8), new Date(m.until).toLocaleString());
      const un = document.createElement('button');
      un.type = 'button';
      un.textContent = t('mod.unmute');
      un.setAttribute('data-testid', 'mod-unmute');
      un.addEventListener('click', async () => {
        const res = await call('DELETE', '/mutes/' + encodeURIComponent(m.sender));
        if (!res.ok && res.status !== 404) return say(await explain(res), true);
        refresh();
      });
      li.append(text, un);
      mutes.append(li);
    }
  };

  // refresh reads the room's moderation; a 200 proves the token and opens the panel.
  const refresh = async () => {
    let res;
    try {
      res = await call('GET', '/moderation');
    } catch {
      return say(t('offline'), true);
    }
    if (!res.ok) return say(await explain(res), true);
    const m = await res.json();
    keepToken(token);
    tokenForm.hidden = true;
    body.hidden = false;
    section.dataset.state = 'on';
    slow.value = String(m.rules.slowModeSeconds);
    words.value = m.rules.words.join('\n');
    showMutes(m.mutes);
    controls(true);
  };

  tokenForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = tokenField.value.trim();
    if (!token) return tokenField.focus();
    refresh();
  });
  q('mod-rules').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = words.value.split('\n').map((w) => w.trim()).filter(Boolean);
    const res = await call('PUT', '/rules', { slowModeSeconds: Math.round(Number(slow.value) || 0), words: list });
    say(res.ok ? t('mod.saved') : await explain(res), !res.ok);
  });
  if (token) refresh();
}
