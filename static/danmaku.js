// The danmaku player: a queue with a density cap in front of lanes that never overlap,
// drawn by one of two views (DOM elements moved by transforms, or one canvas).
import { Lanes } from './lanes.js';
import { Clock } from './clock.js';
import { DomView } from './view_dom.js';
import { CanvasView } from './view_canvas.js';

const MAX_WAIT = 3000; // ms a barrage may wait for a lane before it is dropped
const MAX_QUEUE = 300; // waiting barrages beyond this are dropped, oldest first
const FRAME_BUDGET = 4; // ms of placing work per frame, to leave room for everything else
const SCROLL_MS = 8000; // time to cross the stage at speed 1
const FIXED_MS = 4000; // time a top/bottom barrage stays at speed 1

export const FONT_FAMILY = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", system-ui, sans-serif';

export class Danmaku {
  constructor(stage, layer, { renderer = 'dom', onShown = () => {}, onDropped = () => {} } = {}) {
    this.stage = stage;
    this.clock = new Clock();
    this.view = renderer === 'canvas' ? new CanvasView(stage, this.clock) : new DomView(layer, this.clock);
    this.onShown = onShown;
    this.onDropped = onDropped;
    this.settings = { speed: 1, opacity: 1, area: 0.75, fontSize: 24, density: 80, lanes: Infinity };
    this.queue = [];
    this.ownQueue = [];
    this.hidden = false;
    this.measureCtx = document.createElement('canvas').getContext('2d');
    this.widths = new Map();
    this.full = { scroll: false, top: false, bottom: false };
    this.frame = 0;
    this.lanes = new Lanes(1);
    this.resize();
    new ResizeObserver(() => this.resize()).observe(stage);
  }

  get font() {
    return `bold ${this.settings.fontSize}px ${FONT_FAMILY}`;
  }

  get rowHeight() {
    return Math.ceil(this.settings.fontSize * 1.3);
  }

  resize() {
    this.width = this.stage.clientWidth;
    this.height = this.stage.clientHeight;
    const rows = Math.min(this.settings.lanes, Math.floor((this.height * this.settings.area) / this.rowHeight));
    if (rows !== this.lanes.count) this.lanes.resize(rows);
    this.view.resize(this.width, this.height);
  }

  set(name, value) {
    this.settings[name] = value;
    if (name === 'opacity') this.view.setOpacity(value);
    if (name === 'fontSize') this.clear(); // rows change height; start from an empty screen
    if (name === 'fontSize' || name === 'area' || name === 'lanes') this.resize();
  }

  // push queues a barrage; own ones go first, skip the density cap and are never dropped.
  push(b, own) {
    if (this.hidden) return;
    const entry = { b, own, queuedAt: this.clock.now() };
    if (own) {
      this.ownQueue.push(entry);
    } else {
      this.queue.push(entry);
      if (this.queue.length > MAX_QUEUE) this.drop(this.queue.shift());
    }
    this.schedule();
  }

  schedule() {
    if (!this.frame && !this.clock.paused) this.frame = requestAnimationFrame(() => this.place());
  }

  place() {
    this.frame = 0;
    const started = performance.now();
    const now = this.clock.now();
    this.measureCtx.font = this.font;
    // Lanes only fill up within a frame, so once a mode finds none, later ones are skipped.
    this.full = { scroll: false, top: false, bottom: false };
    this.ownQueue = this.placeFrom(this.ownQueue, now, started, true);
    this.queue = this.placeFrom(this.queue, now, started, false);
    this.view.flush();
    if (this.queue.length || this.ownQueue.length) this.schedule();
  }

  placeFrom(queue, now, started, own) {
    const waiting = [];
    let i = 0;
    for (; i < queue.length; i++) {
      const e = queue[i];
      if (performance.now() - started > FRAME_BUDGET) break;
      if (!own && now - e.queuedAt > MAX_WAIT) {
        this.drop(e);
        continue;
      }
      if (!own && this.view.active >= this.settings.density) {
        waiting.push(e);
        continue;
      }
      if (!this.tryPlace(e, now)) waiting.push(e);
    }
    return i < queue.length ? waiting.concat(queue.slice(i)) : waiting;
  }

  tryPlace(e, now) {
    const { b, own } = e;
    const kind = b.mode === 'top' || b.mode === 'bottom' ? b.mode : 'scroll';
    if (this.full[kind]) return false;
    const width = this.measure(b.text) + (own ? 12 : 4);
    const speed = this.settings.speed;
    let row;
    let item;
    if (b.mode === 'top' || b.mode === 'bottom') {
      const duration = FIXED_MS / speed;
      row = this.lanes.fixed(now, duration, b.mode === 'top');
      item = { mode: 'fixed', duration, x: Math.max(0, (this.width - width) / 2) };
    } else {
      const duration = SCROLL_MS / speed;
      const pxPerMs = (this.width + width) / duration;
      row = this.lanes.scroll(now, this.width, width, pxPerMs);
      item = { mode: 'scroll', duration, from: this.width, to: -width };
    }
    if (row < 0) {
      this.full[kind] = true;
      return false;
    }
    Object.assign(item, { b, own, width, start: now, y: row * this.rowHeight, font: this.font, size: this.settings.fontSize });
    this.view.add(item);
    this.onShown(b, own);
    return true;
  }

  // measure returns the text's width in the current font; repeated texts (a load run sends
  // one message many times) are measured once.
  measure(text) {
    const key = this.settings.fontSize + '|' + text;
    let w = this.widths.get(key);
    if (w === undefined) {
      if (this.widths.size > 2000) this.widths.clear();
      w = Math.ceil(this.measureCtx.measureText(text).width);
      this.widths.set(key, w);
    }
    return w;
  }

  drop(e) {
    this.onDropped(e.b);
  }

  markOwn(id) {
    this.view.markOwn(id);
  }

  // remove takes a barrage off the screen, or out of the queue if it is not shown yet.
  remove(id) {
    this.queue = this.queue.filter((e) => e.b.id !== id);
    this.ownQueue = this.ownQueue.filter((e) => e.b.id !== id);
    this.view.remove(id);
  }

  pause() {
    this.clock.pause();
    this.view.pause();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  resume() {
    this.clock.resume();
    this.view.resume();
    this.schedule();
  }

  setHidden(hidden) {
    this.hidden = hidden;
    this.view.setHidden(hidden);
    if (hidden) this.clear();
  }

  clear() {
    for (const e of this.queue) this.drop(e);
    this.queue = [];
    this.ownQueue = [];
    this.lanes.clear();
    this.view.clear();
  }
}
