import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';

/**
 * Writes `n` small grayscale PNGs (28x28, fashionCnn's size) in `classes` folders under `dir`:
 * image i is a bright square whose place and size depend on i, so images differ and their
 * features do too. Returns the paths in sorted order.
 */
export function writeSyntheticImages(dir: string, n: number, classes = 3, size = 28): string[] {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const cls = `class${i % classes}`;
    mkdirSync(join(dir, cls), { recursive: true });
    const png = new PNG({ width: size, height: size });
    const s = 4 + (i % 11);
    const x0 = (i * 7) % (size - s);
    const y0 = (i * 3) % (size - s);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 4;
        const inside = x >= x0 && x < x0 + s && y >= y0 && y < y0 + s;
        const v = inside ? 255 - (i % 50) : (i * 13 + x + y) % 40;
        png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
        png.data[o + 3] = 255;
      }
    const path = join(dir, cls, `img-${String(i).padStart(6, '0')}.png`);
    writeFileSync(path, PNG.sync.write(png));
    paths.push(path);
  }
  return paths.sort();
}
