// The send box: Enter or Send posts the barrage; an error is shown under the box and the
// text stays, so nothing typed is lost.
import { explain, OFFLINE } from './problem.js';

export function wireSend(form, room, maxText, onSent) {
  const text = form.querySelector('[name=text]');
  const color = form.querySelector('[name=color]');
  const mode = form.querySelector('[name=mode]');
  const button = form.querySelector('button[type=submit]');
  const error = form.querySelector('[data-testid=send-error]');

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
    if (!value.trim()) return fail('Type something first.');
    const runes = [...value.trim()].length;
    if (runes > maxText) return fail(`Your barrage is ${runes} characters long; the limit is ${maxText}.`);
    button.disabled = true;
    let res;
    try {
      res = await fetch('/api/rooms/' + encodeURIComponent(room) + '/barrages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: value, color: color.value, mode: mode.value }),
      });
    } catch {
      button.disabled = false;
      return fail(OFFLINE);
    }
    if (res.status === 202) {
      const { id } = await res.json();
      onSent(id);
      text.value = '';
      error.hidden = true;
      button.disabled = false;
      text.focus();
      return;
    }
    fail(await explain(res));
    const wait = Number(res.headers.get('Retry-After')) || 0;
    setTimeout(() => (button.disabled = false), wait * 1000);
  });
}
