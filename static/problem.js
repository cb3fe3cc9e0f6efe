// Turns an API answer into a sentence a person can act on.
const FIELD_NAMES = { text: 'Your barrage', color: 'The color', mode: 'The mode', message: 'The message', concurrency: 'Concurrency', duration: 'Duration' };

export async function explain(res) {
  let p = {};
  try {
    p = await res.json();
  } catch {
    /* not a problem document; fall back on the status */
  }
  const wait = Number(res.headers.get('Retry-After')) || 0;
  if (Array.isArray(p.errors) && p.errors.length) {
    return p.errors.map((e) => `${FIELD_NAMES[e.field] || e.field} ${e.reason}.`).join(' ');
  }
  switch (res.status) {
    case 429:
      return `${p.detail ? capital(p.detail) + '.' : 'You are sending too fast.'} Try again in ${wait || 1} s.`;
    case 503:
      return `The service is busy and could not confirm it. Try again in ${wait || 1} s.`;
    case 413:
      return 'That is too long to send.';
  }
  if (p.detail) return capital(p.detail) + '.';
  return `The server answered ${res.status}${p.title ? ' (' + p.title + ')' : ''}.`;
}

export const OFFLINE = 'Could not reach the server. Check your connection and try again.';

function capital(s) {
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/[.]$/, '');
}
