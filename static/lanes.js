// Lane allocation: a barrage gets a row only where it can never touch another. A row holds
// either scrolling barrages or one fixed (top/bottom) barrage at a time, never both.

const GAP = 16; // px kept between two scrolling barrages in a row

export class Lanes {
  constructor(count) {
    this.resize(count);
  }

  resize(count) {
    this.rows = Array.from({ length: Math.max(1, count) }, () => ({
      last: null, // the last scrolling barrage: {start, width, speed}
      scrollUntil: 0, // when the last scrolling barrage has left the screen
      fixedUntil: 0, // when the fixed barrage in this row goes away
    }));
  }

  get count() {
    return this.rows.length;
  }

  // scroll finds a row for a barrage of width px that crosses a stage of stageWidth px at
  // speed px/ms starting at now, or returns -1.
  scroll(now, stageWidth, width, speed) {
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i];
      if (r.fixedUntil > now) continue;
      if (r.last && !this.fits(r.last, now, stageWidth, width, speed)) continue;
      r.last = { start: now, width, speed };
      r.scrollUntil = now + (stageWidth + width) / speed;
      return i;
    }
    return -1;
  }

  // fits says whether a new barrage can follow prev in a row without catching up with it.
  fits(prev, now, stageWidth, width, speed) {
    const prevTail = stageWidth - prev.speed * (now - prev.start) + prev.width;
    if (prevTail + GAP > stageWidth) return false; // prev has not fully entered yet
    if (speed <= prev.speed) return true;
    // The faster newcomer must not reach prev's tail before prev has left the screen.
    const prevGone = prev.start + (stageWidth + prev.width) / prev.speed;
    const newHead = stageWidth - speed * (prevGone - now);
    return newHead >= GAP;
  }

  // fixed finds a row for a top (fromTop) or bottom barrage shown until now+duration.
  fixed(now, duration, fromTop) {
    const n = this.rows.length;
    for (let k = 0; k < n; k++) {
      const i = fromTop ? k : n - 1 - k;
      const r = this.rows[i];
      if (r.fixedUntil > now || r.scrollUntil > now) continue;
      r.fixedUntil = now + duration;
      r.last = null;
      return i;
    }
    return -1;
  }

  clear() {
    this.resize(this.rows.length);
  }
}
