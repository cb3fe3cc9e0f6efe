// Turns an API answer into a sentence a person can act on, in the page's language.
import { t } from './i18n.js';

const fieldName = (f) => {
  const name = t('field.' + f);
  return name === 'field.' + f ? f : name;
};

export async function explain(res) {
  let p = {};
  try {
    p = await res.json();
  } catch {
    /* not a problem document; fall back on the status */
  }
  const wait = Number(res.headers.get('Retry-After')) || 0;
  if (Array.isArray(p.errors) && p.errors.length) {
    return p.errors.map((e) => t('fieldError', fieldName(e.field), e.reason)).join(' ');
  }
  // A mute or slow mode says when it ends.
  if (res.status === 403 && p.until && p.secondsLeft) {
    return t('muted', new Date(p.until).toLocaleTimeString(), p.secondsLeft);
  }
  if (res.status === 429 && p.secondsLeft) return t('slowWait', p.secondsLeft);
  switch (res.status) {
    case 429:
      return t('tryAgainIn', p.detail ? sentence(p.detail) : t('tooFast'), wait || 1);
    case 503:
      return t('busy', wait || 1);
    case 413:
      return t('tooLarge');
  }
  if (p.detail) return sentence(p.detail);
  return p.title ? t('answeredTitle', res.status, p.title) : t('answered', res.status);
}

// sentence makes a problem's detail a sentence: capitalised, with one full stop.
function sentence(s) {
  return t('sentence', s.charAt(0).toUpperCase() + s.slice(1).replace(/[.。]$/, ''));
}
