import { readFileSync, readdirSync } from 'node:fs';
import { CnnvizError, createRng, decodeJpegRows } from '@cnnviz/core';
const dir = 'packages/core/fixtures/jpeg/';
const seeds = readdirSync(dir).filter(f => f.endsWith('.jpg')).map(f => ({ f, b: readFileSync(dir + f) }));
const rng = createRng(12345);
const counts: Record<string, number> = {}; let slow = 0; const bad: string[] = [];
for (let i = 0; i < 30000; i++) {
  const s = seeds[Math.floor(rng() * seeds.length)];
  const b = Uint8Array.from(s.b);
  const k = Math.floor(rng() * 4);
  if (k === 0) { const n = 1 + Math.floor(rng()*8); for (let j=0;j<n;j++) b[Math.floor(rng()*b.length)] ^= 1 << Math.floor(rng()*8); }
  else if (k === 1) { const n = 1 + Math.floor(rng()*16); for (let j=0;j<n;j++) b[Math.floor(rng()*b.length)] = Math.floor(rng()*256); }
  else if (k === 2) { const n = 1 + Math.floor(rng()*4); for (let j=0;j<n;j++) b[Math.floor(rng()*600)] = Math.floor(rng()*256); } // headers
  else { b[Math.floor(rng()*b.length)] = 0xff; }
  const scale = [1,2,4,8][Math.floor(rng()*4)] as 1|2|4|8;
  const t0 = performance.now();
  try { decodeJpegRows(b, { scale }, (w, h) => { if (w*h > 2e8) throw new Error('huge'); return () => undefined; }); counts.ok = (counts.ok??0)+1; }
  catch (e) { if (CnnvizError.isInstance(e)) counts[e.code] = (counts[e.code]??0)+1; else bad.push(`${i} ${s.f} k${k}: ${String(e)}`); }
  slow = Math.max(slow, performance.now() - t0);
}
console.log(counts, 'slowest', slow.toFixed(0), 'ms', bad.length, bad.slice(0, 10));
