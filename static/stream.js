// The room's live stream. EventSource resumes by itself after a dropped connection; when
// the server refuses (the stream closes for good) we reopen it from the last cursor. A
// resume further behind than the server replays ends with a gap event: onGap gets the
// cursors to page history between.
export function openStream(room, cursor, { onBarrages, onStats, onState, onGap, onRemoved = () => {} }) {
  let last = cursor;
  let source = null;
  let retry = 1000;

  const connect = () => {
    const q = last ? '?lastEventId=' + encodeURIComponent(last) : '';
    source = new EventSource('/api/rooms/' + encodeURIComponent(room) + '/stream' + q);
    source.onopen = () => {
      retry = 1000;
      onState('live');
    };
    source.addEventListener('barrage', (ev) => {
      if (ev.lastEventId) last = ev.lastEventId;
      let batch;
      try {
        batch = JSON.parse(ev.data);
      } catch {
        return; // a malformed event is skipped; the next one carries on
      }
      if (Array.isArray(batch)) onBarrages(batch);
    });
    source.addEventListener('gap', (ev) => {
      let gap;
      try {
        gap = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (gap && typeof gap.after === 'string' && typeof gap.until === 'string') onGap(gap);
    });
    // Evicted for falling behind: the connection closes and EventSource resumes from the
    // last event it got whole.
    source.addEventListener('evicted', () => onState('reconnecting'));
    source.addEventListener('stats', (ev) => {
      if (ev.lastEventId) last = ev.lastEventId;
      try {
        onStats(JSON.parse(ev.data));
      } catch {
        /* skipped as above */
      }
    });
    // An operator deleted barrages: take them off the screen and the lists.
    source.addEventListener('removed', (ev) => {
      if (ev.lastEventId) last = ev.lastEventId;
      try {
        const { ids } = JSON.parse(ev.data);
        if (Array.isArray(ids)) onRemoved(ids.filter((id) => typeof id === 'string'));
      } catch {
        /* skipped as above */
      }
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        onState('reconnecting');
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 15000);
      } else {
        onState('reconnecting');
      }
    };
  };
  connect();
  return { close: () => source && source.close() };
}
