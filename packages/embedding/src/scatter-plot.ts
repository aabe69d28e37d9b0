import type * as tf from '@tensorflow/tfjs-core';
import { check, checkNumber, CnnvizError } from '@cnnviz/core';
import { Canvas, fitPoints, labelColor, toHex } from './raster.js';

export interface ScatterPlotOptions {
  /** Class of each point (integers >= 0): colours the points and fills the legend. */
  labels?: ArrayLike<number>;
  /** Legend text per class index (SVG); default the index. */
  labelNames?: string[];
  /** Image size in pixels. Default 640 x 640. */
  width?: number;
  height?: number;
  /** `svg` (default): a string. `png`: an RGB raster `[height, width, 3]` in 0..1 to write with @cnnviz/node's writePng. */
  format?: 'svg' | 'png';
  /** Point radius in pixels. Default 2.5. */
  pointRadius?: number;
  /** Point opacity, so dense regions read darker. Default 0.8. */
  opacity?: number;
  /** Caption at the top (SVG only). */
  title?: string;
}

/**
 * A scatter plot of 2-D points (the first two values of each row; 1-D rows get y = 0), coloured
 * by label with a legend: text in SVG, colour swatches with class numbers in the raster. The
 * axes are scaled equally, since t-SNE/PCA distances are comparable in both directions.
 */
export function scatterPlot(
  points: ArrayLike<number>[],
  options: ScatterPlotOptions & { format: 'png' },
): tf.Tensor3D;
export function scatterPlot(
  points: ArrayLike<number>[],
  options?: ScatterPlotOptions & { format?: 'svg' },
): string;
export function scatterPlot(
  points: ArrayLike<number>[],
  options: ScatterPlotOptions = {},
): string | tf.Tensor3D {
  const { width = 640, height = 640, format = 'svg', pointRadius = 2.5, opacity = 0.8, title } = options;
  checkNumber(width, 'width', { integer: true, min: 16, max: 16384 });
  checkNumber(height, 'height', { integer: true, min: 16, max: 16384 });
  checkNumber(pointRadius, 'pointRadius', { min: 0, exclusiveMin: true });
  checkNumber(opacity, 'opacity', { min: 0, max: 1 });
  check(
    format === 'svg' || format === 'png',
    'BAD_OPTION',
    `format must be 'svg' or 'png', got ${String(format)}`,
  );
  const { xs, ys } = readPoints(points);
  const n = xs.length;
  const labels = options.labels;
  let classes: number[] = [];
  if (labels !== undefined) {
    check(
      labels !== null && typeof labels === 'object' && labels.length === n,
      'BAD_INPUT',
      () =>
        `labels must have one entry per point (${n}), got ${labels === null ? 'null' : (labels as ArrayLike<number>).length}`,
    );
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const l = labels[i];
      if (!Number.isInteger(l) || l < 0)
        throw new CnnvizError('BAD_INPUT', `labels[${i}] must be an integer >= 0, got ${String(l)}`);
      seen.add(l);
    }
    classes = [...seen].sort((a, b) => a - b);
  }
  const names = options.labelNames;
  if (names !== undefined) {
    check(
      Array.isArray(names) && names.every((s) => typeof s === 'string'),
      'BAD_OPTION',
      'labelNames must be an array of strings',
    );
  }
  const nameOf = (c: number): string => names?.[c] ?? String(c);

  const margin = Math.round(Math.min(width, height) * 0.04) + pointRadius;
  const legendW = classes.length > 0 ? legendWidth(format, classes.map(nameOf), width) : 0;
  const top = title && format === 'svg' ? 24 : 0;
  const box = {
    x: margin,
    y: margin + top,
    width: width - 2 * margin - legendW,
    height: height - 2 * margin - top,
  };
  check(
    box.width > 0 && box.height > 0,
    'BAD_OPTION',
    `width x height ${width}x${height} is too small for the plot and legend`,
  );
  const { px, py } = fitPoints(xs, ys, box);

  if (format === 'svg') {
    const parts: string[] = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
      `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ];
    if (title)
      parts.push(
        `<text x="${width / 2}" y="18" font-family="sans-serif" font-size="14" text-anchor="middle">${escapeXml(title)}</text>`,
      );
    const groups = classes.length > 0 ? classes : [-1];
    for (const c of groups) {
      parts.push(`<g fill="${toHex(c < 0 ? [0.12, 0.47, 0.71] : labelColor(c))}" fill-opacity="${opacity}">`);
      for (let i = 0; i < n; i++) {
        if (c >= 0 && labels![i] !== c) continue;
        parts.push(`<circle cx="${px[i].toFixed(1)}" cy="${py[i].toFixed(1)}" r="${pointRadius}"/>`);
      }
      parts.push('</g>');
    }
    if (classes.length > 0) {
      const lx = width - legendW + 4;
      parts.push('<g font-family="sans-serif" font-size="12">');
      classes.forEach((c, k) => {
        const y = margin + top + k * 18;
        parts.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${toHex(labelColor(c))}"/>`);
        parts.push(`<text x="${lx + 18}" y="${y + 10}">${escapeXml(nameOf(c))}</text>`);
      });
      parts.push('</g>');
    }
    parts.push('</svg>');
    return parts.join('\n');
  }

  const canvas = new Canvas(width, height);
  for (let i = 0; i < n; i++) {
    const color = labels ? labelColor(labels[i]) : ([0.12, 0.47, 0.71] as [number, number, number]);
    canvas.disc(px[i], py[i], pointRadius, color, opacity);
  }
  if (classes.length > 0) {
    const lx = width - legendW + 4;
    classes.forEach((c, k) => {
      const y = margin + k * 18;
      canvas.fillRect(lx, y, 12, 12, labelColor(c));
      canvas.text(String(c), lx + 17, y + 1, [0, 0, 0], 2);
    });
  }
  return canvas.toTensor();
}

function legendWidth(format: 'svg' | 'png', names: string[], width: number): number {
  const longest = Math.max(...names.map((s) => s.length));
  const w = format === 'svg' ? 28 + 7 * longest : 24 + 8 * longest;
  return Math.min(Math.round(width * 0.3), w);
}

/** First two coordinates of each row, validated. */
export function readPoints(points: ArrayLike<number>[]): { xs: Float64Array; ys: Float64Array } {
  check(
    Array.isArray(points) && points.length > 0,
    'BAD_INPUT',
    'points must be a non-empty array of rows (e.g. the output of tsne or pca().projected)',
  );
  const n = points.length;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = points[i];
    check(
      r !== null && typeof r === 'object' && typeof r.length === 'number' && r.length >= 1,
      'BAD_INPUT',
      () => `points[${i}] must be a row of 1 or more numbers`,
    );
    const x = r[0];
    const y = r.length > 1 ? r[1] : 0;
    if (!Number.isFinite(x) || !Number.isFinite(y))
      throw new CnnvizError('BAD_INPUT', `points[${i}] holds a non-finite value; expected finite numbers`);
    xs[i] = x;
    ys[i] = y;
  }
  return { xs, ys };
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
