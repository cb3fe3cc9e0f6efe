// The load sender form: starts a run on the server, follows its progress, cancels it.
// The operator token lives in this tab's sessionStorage only, and travels as a Bearer header.
import { explain } from './problem.js';
import { t } from './i18n.js';
import { keepToken, storedToken } from './token.js';

const POLL_MS = 250;

export function wireLoad(section, room) {
  const form = section.querySelector('[data-testid=load-form]');
  const cancel = section.querySelector('[data-testid=load-cancel]');
  const start = section.querySelector('[data-testid=load-start]');
  const bar = section.querySelector('[data-testid=load-progress]');
  const error = section.querySelector('[data-testid=load-error]');
  const f = (id) => section.querySelector(`[data-testid=${id}]`);
  const tokenField = section.querySelector('[data-testid=load-token]');
  const base = '/api/rooms/' + encodeURIComponent(room) + '/load';
  let runId = '';
  let timer = 0;
  let token = storedToken(); // the one the current run was started with
  if (tokenField) tokenField.value = token;

  const call = (url, init = {}) => {
    const headers = { ...init.headers };
    if (tokenField) headers.Authorization = 'Bearer ' + token;
    return fetch(url, { cache: 'no-store', ...init, headers });
  };
  const why = async (res) => {
    if (res.status !== 401) return explain(res);
    keepToken('');
    return t('load.refused');
  };

  const fail = (msg) => {
    error.textContent = msg;
    error.hidden = false;
  };

  const show = (p) => {
    f('load-sent').textContent = String(p.sent);
    f('load-accepted').textContent = String(p.accepted);
    f('load-failed').textContent = String(p.failed);
    f('load-rate').textContent = String(Math.round(p.rate));
    f('load-left').textContent = p.remainingSeconds.toFixed(1);
    bar.value = p.done ? 1 : Math.min(1, p.elapsedSeconds / p.durationSeconds);
    f('load-status').textContent = p.done ? (p.cancelled ? t('load.cancelled') : t('load.done')) : t('load.running');
    if (p.lastFailure) fail(t('load.someFailed', p.lastFailure));
    section.dataset.run = p.id;
    if (p.done) {
      runId = '';
      cancel.disabled = true;
      start.disabled = false;
    }
  };

  const poll = async () => {
    timer = 0;
    if (!runId) return;
    try {
      const res = await call(base + '/' + runId);
      if (!res.ok) {
        fail(await why(res));
        runId = '';
        start.disabled = false;
        cancel.disabled = true;
        return;
      }
      show(await res.json());
    } catch {
      fail(t('offline'));
    }
    if (runId) timer = setTimeout(poll, POLL_MS);
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (tokenField) {
      token = tokenField.value.trim();
      if (!token) {
        tokenField.focus();
        return fail(t('load.tokenFirst'));
      }
    }
    const body = {
      message: form.elements.message.value,
      concurrency: Number(form.elements.concurrency.value),
      durationSeconds: Number(form.elements.duration.value),
    };
    start.disabled = true;
    let res;
    try {
      res = await call(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    } catch {
      start.disabled = false;
      return fail(t('offline'));
    }
    if (res.status !== 202) {
      start.disabled = false;
      return fail(await why(res));
    }
    if (tokenField) keepToken(token);
    const p = await res.json();
    runId = p.id;
    cancel.disabled = false;
    show(p);
    clearTimeout(timer);
    timer = setTimeout(poll, POLL_MS);
  });

  cancel.addEventListener('click', async () => {
    if (!runId) return;
    try {
      const res = await call(base + '/' + runId, { method: 'DELETE' });
      if (res.ok) show(await res.json());
      else fail(await why(res));
    } catch {
      fail(t('offline'));
    }
  });
}
