// The page's strings in the reader's language: the table the server puts in #strings.
let table = {};
try {
  table = JSON.parse(document.getElementById('strings')?.textContent || '{}');
} catch {
  /* no table: keys show, which the catalogue test keeps from happening */
}

// t is the string key with {0}, {1}… replaced by args.
export function t(key, ...args) {
  const s = typeof table[key] === 'string' ? table[key] : key;
  return s.replace(/\{(\d+)\}/g, (m, i) => (i < args.length ? String(args[i]) : m));
}

// chooseLang remembers the reader's language for the server (a year, this site only) and
// reloads, so the page comes back rendered in it.
export function chooseLang(lang) {
  document.cookie = `lang=${encodeURIComponent(lang)}; path=/; max-age=31536000; samesite=lax`;
  location.reload();
}
