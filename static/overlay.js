// The overlay: the room's flying barrages and nothing else, for a browser source in
// streaming software. It follows the room as the page does and reconnects by itself.
import { Danmaku } from './danmaku.js';
import { followRoom } from './feed.js';

const stage = document.getElementById('overlay');
const opts = stage.dataset;
const modes = new Set(opts.modes.split(','));

const player = new Danmaku(stage, stage.querySelector('[data-testid=danmaku-layer]'));
player.set('lanes', Number(opts.lanes));
player.set('fontSize', Number(opts.size));
player.set('speed', Number(opts.speed));
player.set('opacity', Number(opts.opacity));
player.set('area', Number(opts.area));
player.set('density', Infinity); // the lanes are the only cap: nothing shows on top of another

followRoom(opts.room, opts.cursor, {
  onBarrages: (fresh) => {
    for (const b of fresh) if (modes.has(b.mode || 'scroll')) player.push(b, false);
  },
  onState: (state) => (stage.dataset.state = state),
  onRemoved: (ids) => ids.forEach((id) => player.remove(id)),
});
