import * as tf from '@tensorflow/tfjs-core';

/** An RGB colour with components in 0..1. */
export type Rgb = [number, number, number];

const TAB10 = [
  '1f77b4',
  'ff7f0e',
  '2ca02c',
  'd62728',
  '9467bd',
  '8c564b',
  'e377c2',
  '7f7f7f',
  'bcbd22',
  '17becf',
];

/** Colour of class `i`: Tableau 10, then hues spaced by the golden angle. */
export function labelColor(i: number): Rgb {
  if (i >= 0 && i < TAB10.length) {
    const h = TAB10[i];
    return [
      parseInt(h.slice(0, 2), 16) / 255,
      parseInt(h.slice(2, 4), 16) / 255,
      parseInt(h.slice(4, 6), 16) / 255,
    ];
  }
  const hue = (i * 137.508) % 360;
  return hslToRgb(hue, 0.65, 0.5);
}

export function toHex(c: Rgb): string {
  return (
    '#' +
    c
      .map((v) =>
        Math.round(Math.min(1, Math.max(0, v)) * 255)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')
  );
}

function hslToRgb(h: number, s: number, l: number): Rgb {
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [f(0), f(8), f(4)];
}

/** 3x5 pixel glyphs, row-major bits from the top-left: enough for numbers. */
const GLYPHS: Record<string, string> = {
  '0': '111101101101111',
  '1': '010110010010111',
  '2': '111001111100111',
  '3': '111001111001111',
  '4': '101101111001001',
  '5': '111100111001111',
  '6': '111100111101111',
  '7': '111001010010010',
  '8': '111101111101111',
  '9': '111101111001111',
  '.': '000000000000010',
  '-': '000000111000000',
  '+': '000010111010000',
  e: '000111111100111',
  ' ': '000000000000000',
};

/** An RGB float image drawn in plain loops; `toTensor` hands it to TF.js as `[H, W, 3]`. */
export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;

  constructor(width: number, height: number, background: Rgb = [1, 1, 1]) {
    this.width = width;
    this.height = height;
    this.data = new Float32Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      this.data[3 * p] = background[0];
      this.data[3 * p + 1] = background[1];
      this.data[3 * p + 2] = background[2];
    }
  }

  /** Blends `color` over pixel (x, y) with opacity `alpha`; outside pixels are ignored. */
  blend(x: number, y: number, color: Rgb, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = 3 * (y * this.width + x);
    for (let c = 0; c < 3; c++) this.data[o + c] = this.data[o + c] * (1 - alpha) + color[c] * alpha;
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.blend(xx, yy, color, alpha);
  }

  /** A filled disc of radius r centred on (cx, cy), edge pixels by coverage of their centre. */
  disc(cx: number, cy: number, r: number, color: Rgb, alpha = 1): void {
    const x0 = Math.floor(cx - r);
    const x1 = Math.ceil(cx + r);
    const y0 = Math.floor(cy - r);
    const y1 = Math.ceil(cy + r);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const cover = Math.min(1, Math.max(0, r + 0.5 - Math.sqrt(dx * dx + dy * dy)));
        if (cover > 0) this.blend(x, y, color, alpha * cover);
      }
    }
  }

  /** A one-pixel rectangle outline. */
  strokeRect(x: number, y: number, w: number, h: number, color: Rgb, thickness = 1): void {
    this.fillRect(x, y, w, thickness, color);
    this.fillRect(x, y + h - thickness, w, thickness, color);
    this.fillRect(x, y, thickness, h, color);
    this.fillRect(x + w - thickness, y, thickness, h, color);
  }

  /** Copies an `[h, w, c]` image (c = 1 or 3, values 0..1) with its top-left at (x, y). */
  blit(img: ArrayLike<number>, h: number, w: number, c: number, x: number, y: number): void {
    for (let r = 0; r < h; r++) {
      const yy = y + r;
      if (yy < 0 || yy >= this.height) continue;
      for (let q = 0; q < w; q++) {
        const xx = x + q;
        if (xx < 0 || xx >= this.width) continue;
        const o = 3 * (yy * this.width + xx);
        const s = (r * w + q) * c;
        for (let k = 0; k < 3; k++) this.data[o + k] = clamp01(img[s + (c === 1 ? 0 : k)]);
      }
    }
  }

  /** Draws `text` (digits, '.', '-', '+', 'e') in the 3x5 font, each font pixel `scale` pixels. */
  text(text: string, x: number, y: number, color: Rgb, scale = 1): void {
    let cx = x;
    for (const ch of text) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      for (let r = 0; r < 5; r++) {
        for (let q = 0; q < 3; q++) {
          if (g[r * 3 + q] === '1') this.fillRect(cx + q * scale, y + r * scale, scale, scale, color);
        }
      }
      cx += 4 * scale;
    }
  }

  static textWidth(text: string, scale = 1): number {
    return text.length * 4 * scale - scale;
  }

  toTensor(): tf.Tensor3D {
    return tf.tensor3d(this.data, [this.height, this.width, 3]);
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Scales points into a box with a margin, keeping the aspect ratio (t-SNE axes mean nothing apart). */
export function fitPoints(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  box: { x: number; y: number; width: number; height: number },
): { px: Float64Array; py: Float64Array } {
  const n = xs.length;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, xs[i]);
    x1 = Math.max(x1, xs[i]);
    y0 = Math.min(y0, ys[i]);
    y1 = Math.max(y1, ys[i]);
  }
  const sx = x1 > x0 ? box.width / (x1 - x0) : 0;
  const sy = y1 > y0 ? box.height / (y1 - y0) : 0;
  const s = sx && sy ? Math.min(sx, sy) : sx || sy || 0;
  const ox = box.x + (box.width - (x1 - x0) * s) / 2;
  const oy = box.y + (box.height - (y1 - y0) * s) / 2;
  const px = new Float64Array(n);
  const py = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    px[i] = ox + (xs[i] - x0) * s;
    // Screen y grows downwards; flip so larger values are higher, as on a plot.
    py[i] = oy + (y1 - ys[i]) * s;
  }
  return { px, py };
}

/** Formats a distance in at most `digits` significant digits with the 3x5 font's characters. */
export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '-';
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}
