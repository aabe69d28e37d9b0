import { readFileSync } from 'node:fs';
import { decodeJpegRows } from '@cnnviz/core';
const dec = (buf: Buffer, scale: 1|2|4|8) => { let out!: Uint8Array; let W=0,H=0; decodeJpegRows(buf, { scale }, (w, h) => { W=w;H=h; out = new Uint8Array(w*h*3); return (rgb, y) => out.set(rgb, y*w*3); }); return { out, W, H }; };
for (const [f, s] of [['packages/models/assets/images/starry_night.jpg', 8], ['packages/models/assets/images/coffee.jpg', 8], ['packages/models/assets/images/astronaut.jpg', 2]] as const) {
  const buf = readFileSync(f); const full = dec(buf, 1); const r = dec(buf, s);
  let best = { d: 0, ox: 0, oy: 0, k: 0, a: 0, v: 0 };
  for (let oy = 0; oy < r.H; oy++) for (let ox = 0; ox < r.W; ox++) for (let k = 0; k < 3; k++) {
    let a = 0, n = 0;
    for (let y = oy*s; y < Math.min(full.H, oy*s+s); y++) for (let x = ox*s; x < Math.min(full.W, ox*s+s); x++) { a += full.out[(y*full.W+x)*3+k]; n++; }
    const d = Math.abs(a/n - r.out[(oy*r.W+ox)*3+k]); if (d > best.d) best = { d, ox, oy, k, a: a/n, v: r.out[(oy*r.W+ox)*3+k] };
  }
  console.log(f, r.W, r.H, best);
  // print block pixels of channel
  const { ox, oy, k } = best; const rows = [];
  for (let y = oy*s; y < Math.min(full.H, oy*s+s); y++) { const row = []; for (let x = ox*s; x < Math.min(full.W, ox*s+s); x++) row.push(full.out[(y*full.W+x)*3+k]); rows.push(row.join(' ')); }
  console.log(rows.join('\n'));
}
