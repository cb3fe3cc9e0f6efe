// Canvas view: every barrage drawn on one canvas each frame. Kept so the choice between
// the two views can be measured again (?renderer=canvas); the DOM view is the default.
export class CanvasView {
  constructor(stage, clock) {
    this.clock = clock;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'dm-canvas';
    this.canvas.setAttribute('data-testid', 'danmaku-canvas');
    stage.append(this.canvas);
    this.ctx = this.canvas.getContext('2d');
    this.items = [];
    this.frame = 0;
    this.own = new Set();
  }

  get active() {
    return this.items.length;
  }

  resize(w, h) {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.w = w;
    this.h = h;
  }

  setOpacity(v) {
    this.canvas.style.opacity = String(v);
  }

  setHidden(hidden) {
    this.canvas.hidden = hidden;
  }

  add(item) {
    this.items.push(item);
  }

  flush() {
    this.loop();
  }

  loop() {
    if (!this.frame && !this.clock.paused && this.items.length) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
        this.loop();
      });
    }
  }

  draw() {
    const now = this.clock.now();
    const ctx = this.ctx;
    ctx.clearRect(0, 0, this.w, this.h);
    ctx.textBaseline = 'top';
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(0,0,0,0.7)';
    this.items = this.items.filter((it) => now - it.start < it.duration);
    for (const it of this.items) {
      const t = (now - it.start) / it.duration;
      const x = it.mode === 'fixed' ? it.x : it.from + (it.to - it.from) * t;
      ctx.font = it.font;
      ctx.strokeText(it.b.text, x, it.y);
      ctx.fillStyle = it.b.color;
      ctx.fillText(it.b.text, x, it.y);
      if (it.own || this.own.has(it.b.id)) {
        ctx.strokeStyle = '#ffe14d';
        ctx.strokeRect(x - 4, it.y - 2, it.width, it.size * 1.25);
        ctx.strokeStyle = 'rgba(0,0,0,0.7)';
      }
    }
  }

  markOwn(id) {
    this.own.add(id);
  }

  remove(id) {
    this.items = this.items.filter((it) => it.b.id !== id);
  }

  pause() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  resume() {
    this.loop();
  }

  clear() {
    this.items = [];
    this.ctx.clearRect(0, 0, this.w, this.h);
  }
}
