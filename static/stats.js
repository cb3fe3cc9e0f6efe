// Live stats: per-second in (accepted by the server, from its stats events), out (delivered
// to this page) and latency from acceptance to being shown, p50 and p99, over the last minute.
const WINDOW = 60; // seconds kept
const MAX_SAMPLES = 2000; // latency samples kept per second; more are sampled

const COLORS = { in: '#4aa3ff', out: '#5fd35f', p50: '#ffb347', p99: '#ff5c5c' };

export class Stats {
  constructor(root) {
    this.root = root;
    this.canvas = root.querySelector('[data-testid=stats-plot]');
    this.out = new Map(); // second -> count
    this.in = new Map(); // second -> count
    this.lat = new Map(); // second -> {n, samples[]}
    this.shown = 0;
    this.lastIn = 0;
    this.dropped = 0;
    this.field = (id) => root.querySelector(`[data-testid=${id}]`);
    setInterval(() => this.render(), 1000);
  }

  static second(ms = Date.now()) {
    return Math.floor(ms / 1000);
  }

  addIn(n) {
    this.lastIn = n; // the server's own second, shown as it comes
    const s = Stats.second() - 1; // the server's counts are for the second just gone
    this.in.set(s, (this.in.get(s) || 0) + n);
  }

  // addOut counts barrages the server delivered to this page.
  addOut(n) {
    const s = Stats.second();
    this.out.set(s, (this.out.get(s) || 0) + n);
  }

  // addShown records the latency of a barrage drawn now: from acceptance to the screen.
  addShown(acceptedAt) {
    const now = Date.now();
    const s = Stats.second(now);
    this.shown++;
    const t = Date.parse(acceptedAt);
    if (!Number.isFinite(t)) return;
    let l = this.lat.get(s);
    if (!l) this.lat.set(s, (l = { n: 0, samples: [] }));
    l.n++;
    const v = Math.max(0, now - t);
    if (l.samples.length < MAX_SAMPLES) l.samples.push(v);
    else {
      const j = Math.floor(Math.random() * l.n); // reservoir sampling keeps it fair
      if (j < MAX_SAMPLES) l.samples[j] = v;
    }
  }

  addDropped() {
    this.dropped++;
  }

  render() {
    const now = Stats.second();
    const first = now - WINDOW;
    for (const m of [this.in, this.out, this.lat]) for (const k of m.keys()) if (k < first) m.delete(k);
    const series = { in: [], out: [], p50: [], p99: [] };
    const all = [];
    for (let s = first; s < now; s++) {
      series.in.push(this.in.get(s) || 0);
      series.out.push(this.out.get(s) || 0);
      const l = this.lat.get(s);
      const sorted = l ? l.samples.slice().sort((a, b) => a - b) : [];
      series.p50.push(sorted.length ? quantile(sorted, 0.5) : null);
      series.p99.push(sorted.length ? quantile(sorted, 0.99) : null);
      if (l) all.push(...l.samples);
    }
    all.sort((a, b) => a - b);
    this.field('stat-in').textContent = `${this.lastIn}/s`;
    this.field('stat-out').textContent = `${series.out[WINDOW - 1]}/s`;
    this.field('stat-p50').textContent = all.length ? ms(quantile(all, 0.5)) : '–';
    this.field('stat-p99').textContent = all.length ? ms(quantile(all, 0.99)) : '–';
    this.field('stat-shown').textContent = String(this.shown);
    this.field('stat-dropped').textContent = String(this.dropped);
    this.plot(series);
  }

  plot(series) {
    const c = this.canvas;
    const ctx = c.getContext('2d');
    const w = c.width;
    const h = c.height;
    const half = Math.floor(h / 2);
    ctx.clearRect(0, 0, w, h);
    ctx.font = '10px system-ui, sans-serif';
    const rate = Math.max(10, ...series.in, ...series.out);
    const lat = Math.max(100, ...series.p99.filter((v) => v !== null));
    line(ctx, series.in, rate, 0, half - 4, w, COLORS.in);
    line(ctx, series.out, rate, 0, half - 4, w, COLORS.out);
    line(ctx, series.p50, lat, half + 4, h, w, COLORS.p50, true);
    line(ctx, series.p99, lat, half + 4, h, w, COLORS.p99, true);
    ctx.fillStyle = '#9aa';
    ctx.fillText(`${Math.round(rate)}/s`, 2, 10);
    ctx.fillText(ms(lat), 2, half + 14);
    ctx.strokeStyle = '#334';
    ctx.beginPath();
    ctx.moveTo(0, half + 0.5);
    ctx.lineTo(w, half + 0.5);
    ctx.stroke();
  }
}

// line draws values as a polyline; seconds without a value are bridged, and a lone value
// can be marked with a dot, so sparse latency samples still show.
function line(ctx, values, top, y0, y1, w, color, dots = false) {
  const dx = w / (values.length - 1);
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let points = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    const y = y1 - ((y1 - y0 - 12) * v) / top;
    if (points++) ctx.lineTo(i * dx, y);
    else ctx.moveTo(i * dx, y);
    if (dots) ctx.fillRect(i * dx - 1.5, y - 1.5, 3, 3);
  });
  ctx.stroke();
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function ms(v) {
  return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms';
}
