import { readFileSync, readdirSync } from 'node:fs';
import { decodeJpegRows } from '@cnnviz/core';
const dir = 'packages/core/fixtures/jpeg/';
const files = [...readdirSync(dir).filter(f => f.endsWith('.jpg') && f !== 'arithmetic.jpg').map(f => dir + f),
  ...['astronaut','chelsea','coffee','scream','starry_night'].map(n => `packages/models/assets/images/${n}.jpg`)];
const dec = (buf: Buffer, scale: 1|2|4|8) => { let out!: Uint8Array; let W=0,H=0; decodeJpegRows(buf, { scale }, (w, h) => { W=w;H=h; out = new Uint8Array(w*h*3); return (rgb, y) => out.set(rgb, y*w*3); }); return { out, W, H }; };
for (const f of files) {
  const buf = readFileSync(f);
  const full = dec(buf, 1);
  const row: (string|number)[] = [f.split('/').pop()!];
  for (const s of [2,4,8] as const) {
    const r = dec(buf, s);
    let max = 0, sum = 0, cnt = 0; const ds: number[] = [];
    for (let oy = 0; oy < Math.floor(full.H/s); oy++) for (let ox = 0; ox < Math.floor(full.W/s); ox++) for (let k = 0; k < 3; k++) {
      let a = 0;
      for (let y = oy*s; y < oy*s+s; y++) for (let x = ox*s; x < ox*s+s; x++) a += full.out[(y*full.W+x)*3+k];
      const d = Math.abs(a/(s*s) - r.out[(oy*r.W+ox)*3+k]); max = Math.max(max, d); sum += d; cnt++; ds.push(d);
    }
    ds.sort((a,b)=>a-b);
    row.push(`1/${s} max ${max.toFixed(1)} p99 ${ds[Math.floor(ds.length*0.99)].toFixed(1)} mean ${(sum/cnt).toFixed(2)}`);
  }
  console.log(row.join(' | '));
}
