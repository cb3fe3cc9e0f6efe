// A clock that stands still while paused, so lanes and animations agree after a pause.
export class Clock {
  constructor() {
    this.pausedAt = 0;
    this.pausedTotal = 0;
  }
  now() {
    return (this.pausedAt || performance.now()) - this.pausedTotal;
  }
  // timeline turns a time on this clock into the document timeline's, which runs on while
  // paused.
  timeline(t) {
    return t + this.pausedTotal;
  }
  get paused() {
    return this.pausedAt !== 0;
  }
  pause() {
    if (!this.pausedAt) this.pausedAt = performance.now();
  }
  resume() {
    if (this.pausedAt) {
      this.pausedTotal += performance.now() - this.pausedAt;
      this.pausedAt = 0;
    }
  }
}
