// The send box: Enter or Send posts the barrage; an error is shown under the box and the
// text stays, so nothing typed is lost. Every barrage carries an Idempotency-Key, and a
// retry of the same barrage after a 503 or a lost answer reuses it, so it never shows twice.
import { explain } from './problem.js';
import { t } from './i18n.js';

// newKey works on plain http too, where crypto.randomUUID is not offered.
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function wireSend(form, room, maxText, onSent) {
  const text = form.querySelector('[name=text]');
  const color = form.querySelector('[name=color]');
  const mode = form.querySelector('[name=mode]');
  const button = form.querySelector('button[type=submit]');
  const error = form.querySelector('[data-testid=send-error]');

  // The barrage whose fate is unknown (503 or no answer): sent again unchanged, it keeps its key.
  let pending = null;

  const fail = (msg) => {
    error.textContent = msg;
    error.hidden = false;
    text.setAttribute('aria-invalid', 'true');
  };
  text.addEventListener('input', () => {
    error.hidden = true;
    text.removeAttribute('aria-invalid');
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = text.value;
    if (!value.trim()) return fail(t('typeFirst'));
    const runes = [...value.trim()].length;
    if (runes > maxText) return fail(t('tooLong', runes, maxText));
    button.disabled = true;
    const body = JSON.stringify({ text: value, color: color.value, mode: mode.value });
    if (!pending || pending.body !== body) pending = { body, key: newKey() };
    let res;
    try {
      res = await fetch('/api/rooms/' + encodeURIComponent(room) + '/barrages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': pending.key },
        body,
      });
    } catch {
      button.disabled = false;
      return fail(t('offline') + t('sendAgain'));
    }
    if (res.status !== 503) pending = null; // answered for sure: a new send is a new barrage
    if (res.status === 202) {
      const { id } = await res.json();
      onSent(id);
      text.value = '';
      error.hidden = true;
      button.disabled = false;
      text.focus();
      return;
    }
    fail((await explain(res)) + (res.status === 503 ? t('sendAgain') : ''));
    const wait = Number(res.headers.get('Retry-After')) || 0;
    setTimeout(() => (button.disabled = false), wait * 1000);
  });
}
