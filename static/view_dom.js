// DOM view: one element per barrage, moved by the compositor with the Web Animations API,
// so the main thread only creates elements and never lays them out again.
export class DomView {
  constructor(layer, clock) {
    this.layer = layer;
    this.clock = clock;
    this.anims = new Map(); // animation → its start on the shared clock
    this.byId = new Map();
    this.pending = [];
  }

  get active() {
    return this.anims.size + this.pending.length;
  }

  resize() {}

  setOpacity(v) {
    this.layer.style.opacity = String(v);
  }

  setHidden(hidden) {
    this.layer.hidden = hidden;
  }

  add(item) {
    const el = document.createElement('span');
    el.className = item.own ? 'dm own' : 'dm';
    el.setAttribute('data-testid', 'danmaku');
    el.dataset.id = item.b.id;
    el.dataset.mode = item.b.mode;
    el.textContent = item.b.text; // text, never markup
    el.style.color = item.b.color;
    el.style.font = item.font;
    el.style.lineHeight = '1.25'; // the font shorthand resets it; rows are sized for 1.25
    el.style.top = item.y + 'px';
    // The style without the animation is where it ends, off screen or invisible, so a
    // finished element never flashes in place before it is removed.
    if (item.mode === 'fixed') {
      el.style.left = item.x + 'px';
      el.style.opacity = '0';
    } else {
      el.style.transform = `translateX(${item.to}px)`;
    }
    this.pending.push([el, item]);
  }

  // flush adds the frame's new elements in one go and starts their animations.
  flush() {
    if (!this.pending.length) return;
    const frag = document.createDocumentFragment();
    for (const [el] of this.pending) frag.append(el);
    this.layer.append(frag);
    for (const [el, item] of this.pending) {
      const frames =
        item.mode === 'fixed'
          ? [{ opacity: 1 }, { opacity: 1 }]
          : [{ transform: `translateX(${item.from}px)` }, { transform: `translateX(${item.to}px)` }];
      const anim = el.animate(frames, { duration: item.duration, easing: 'linear' });
      // Started when placed, on the shared clock, so the lanes' sums hold. A start time, not a
      // current time: a current time is held until the animation is ready, so a long task
      // between here and the next frame would start it late and let the next one catch up.
      if (this.clock.paused) {
        anim.pause();
        anim.currentTime = Math.max(0, this.clock.now() - item.start);
      } else {
        anim.startTime = this.clock.timeline(item.start);
      }
      this.anims.set(anim, item.start);
      this.byId.set(item.b.id, el);
      anim.onfinish = () => {
        this.anims.delete(anim);
        this.byId.delete(item.b.id);
        el.remove();
      };
    }
    this.pending = [];
  }

  // remove takes a barrage off the screen at once.
  remove(id) {
    this.pending = this.pending.filter(([, item]) => item.b.id !== id);
    const el = this.byId.get(id);
    if (!el) return;
    for (const a of el.getAnimations()) {
      this.anims.delete(a);
      a.cancel();
    }
    this.byId.delete(id);
    el.remove();
  }

  markOwn(id) {
    const el = this.byId.get(id);
    if (el) el.classList.add('own');
  }

  // pause stops every animation where the (already paused) clock says it is. Setting the
  // time completes the pause at once, rather than at the next frame.
  pause() {
    const now = this.clock.now();
    for (const [a, start] of this.anims) {
      a.pause();
      a.currentTime = Math.max(0, now - start);
    }
  }

  // resume puts every animation back on the shared clock, for the same reason as flush.
  resume() {
    for (const [a, start] of this.anims) a.startTime = this.clock.timeline(start);
  }

  clear() {
    for (const a of this.anims.keys()) a.cancel();
    this.anims.clear();
    this.byId.clear();
    this.pending = [];
    this.layer.replaceChildren();
  }
}
