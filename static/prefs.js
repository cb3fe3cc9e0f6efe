// Viewer preferences kept in this browser: display settings and block words.
import { t } from './i18n.js';

const PREFS_KEY = 'barrage.prefs';
const BLOCK_KEY = 'barrage.blockWords';

function load(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v ?? fallback;
  } catch {
    return fallback; // storage off or corrupt: start fresh
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or off: the setting lasts for this page only */
  }
}

export const loadPrefs = () => load(PREFS_KEY, {});
export const savePrefs = (p) => save(PREFS_KEY, p);

export class BlockWords {
  constructor(form, onChange) {
    this.words = load(BLOCK_KEY, []).filter((w) => typeof w === 'string' && w);
    this.list = form.querySelector('[data-testid=block-list]');
    this.onChange = onChange;
    const input = form.querySelector('[name=word]');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const w = input.value.trim().toLowerCase();
      if (w && !this.words.includes(w)) {
        this.words.push(w);
        this.changed();
      }
      input.value = '';
    });
    this.render();
  }

  blocks(text) {
    const t = text.toLowerCase();
    return this.words.some((w) => t.includes(w));
  }

  changed() {
    save(BLOCK_KEY, this.words);
    this.render();
    this.onChange();
  }

  render() {
    this.list.replaceChildren(
      ...this.words.map((w) => {
        const li = document.createElement('li');
        const span = document.createElement('span');
        span.textContent = w;
        const rm = document.createElement('button');
        rm.type = 'button';
        rm.textContent = '×';
        rm.setAttribute('aria-label', t('unblock', w));
        rm.addEventListener('click', () => {
          this.words = this.words.filter((x) => x !== w);
          this.changed();
        });
        li.append(span, rm);
        return li;
      }),
    );
  }
}
