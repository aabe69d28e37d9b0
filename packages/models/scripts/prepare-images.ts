/**
 * Makes the small bundled images in packages/models/assets/images/ from Debian packages (see NOTICE):
 *   cd /tmp && apt-get download python3-skimage opencv-doc darknet && for f in *.deb; do dpkg -x $f debs/; done
 *   IMAGES_SRC=/tmp/debs npx tsx packages/models/scripts/prepare-images.ts
 * Each image is area-downsampled so that its longest side is at most 256 px; colour photos are written
 * as JPEG (quality 90), grayscale textures as PNG.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'assets', 'images');
const src = process.env.IMAGES_SRC ?? '/tmp/dl/x';
const MAX = 256;

const SOURCES: { name: string; path: string; gray?: boolean }[] = [
  { name: 'chelsea', path: 'usr/lib/python3/dist-packages/skimage/data/chelsea.png' },
  { name: 'astronaut', path: 'usr/lib/python3/dist-packages/skimage/data/astronaut.png' },
  { name: 'coffee', path: 'usr/lib/python3/dist-packages/skimage/data/coffee.png' },
  { name: 'brick', path: 'usr/lib/python3/dist-packages/skimage/data/brick.png', gray: true },
  { name: 'grass', path: 'usr/lib/python3/dist-packages/skimage/data/grass.png', gray: true },
  { name: 'starry_night', path: 'usr/share/doc/opencv-doc/examples/data/starry_night.jpg' },
  { name: 'scream', path: 'usr/share/darknet/data/scream.jpg' },
];

interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

function decode(path: string): Rgba {
  const buf = readFileSync(path);
  if (path.endsWith('.png')) {
    const png = PNG.sync.read(buf);
    return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
  }
  const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
  return { width: img.width, height: img.height, data: img.data };
}

/** Area (box) downsampling by a real factor: each output pixel averages the input area it covers. */
function downsample(img: Rgba, w: number, h: number): Rgba {
  const out = new Uint8Array(w * h * 4);
  const sx = img.width / w;
  const sy = img.height / h;
  for (let y = 0; y < h; y++) {
    const y0 = y * sy;
    const y1 = y0 + sy;
    for (let x = 0; x < w; x++) {
      const x0 = x * sx;
      const x1 = x0 + sx;
      const acc = [0, 0, 0, 0];
      let wsum = 0;
      for (let iy = Math.floor(y0); iy < Math.ceil(y1); iy++) {
        const wy = Math.min(y1, iy + 1) - Math.max(y0, iy);
        for (let ix = Math.floor(x0); ix < Math.ceil(x1); ix++) {
          const wx = Math.min(x1, ix + 1) - Math.max(x0, ix);
          const o = (iy * img.width + ix) * 4;
          for (let c = 0; c < 4; c++) acc[c] += img.data[o + c] * wx * wy;
          wsum += wx * wy;
        }
      }
      for (let c = 0; c < 4; c++) out[(y * w + x) * 4 + c] = Math.round(acc[c] / wsum);
    }
  }
  return { width: w, height: h, data: out };
}

mkdirSync(out, { recursive: true });
for (const s of SOURCES) {
  const img = decode(join(src, s.path));
  const scale = Math.min(1, MAX / Math.max(img.width, img.height));
  const w = Math.round(img.width * scale);
  const h = Math.round(img.height * scale);
  const small = scale < 1 ? downsample(img, w, h) : img;
  let file: string;
  if (s.gray) {
    const png = new PNG({ width: w, height: h, colorType: 0 });
    png.data = Buffer.from(small.data);
    file = `${s.name}.png`;
    writeFileSync(join(out, file), PNG.sync.write(png, { colorType: 0 }));
  } else {
    file = `${s.name}.jpg`;
    writeFileSync(join(out, file), jpeg.encode({ width: w, height: h, data: small.data }, 90).data);
  }
  console.log(`${file}: ${img.width}x${img.height} -> ${w}x${h}`);
}
