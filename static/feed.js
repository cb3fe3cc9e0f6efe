// A room's barrages, each once and in order: the live stream from a cursor, with what the
// stream could not replay (a gap) paged from history. The page and the overlay share it.
import { openStream } from './stream.js';

const SEEN_MAX = 20000; // recent ids remembered to skip a barrage delivered twice: a replay and a gap fill
const GAP_PAGE = 1000; // records per history page when filling a gap

export function followRoom(room, cursor, { onBarrages, onStats = () => {}, onState = () => {}, onRemoved = () => {} }) {
  const seen = new Set();
  const remember = (id) => {
    seen.add(id);
    if (seen.size > SEEN_MAX) seen.delete(seen.values().next().value);
  };

  // A removed id counts as seen, so a copy still in flight is not shown after it.
  const removed = (ids) => {
    for (const id of ids) remember(id);
    onRemoved(ids);
  };

  // onBarrages gets the new ones of a batch, and how many the batch held.
  const receive = (batch) => {
    const fresh = [];
    for (const b of batch) {
      if (!b || typeof b.text !== 'string' || seen.has(b.id)) continue;
      remember(b.id);
      fresh.push(b);
    }
    onBarrages(fresh, batch.length);
  };

  // A gap is filled after `after` up to and including `until`, where live resumed. Gaps
  // are filled one at a time, in order.
  let gaps = Promise.resolve();
  const fillGap = (gap) => {
    gaps = gaps.then(() => pageGap(gap.after, gap.until));
  };

  const pageGap = async (after, until) => {
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
  };

  return openStream(room, cursor, { onBarrages: receive, onGap: fillGap, onStats, onState, onRemoved: removed });
}
