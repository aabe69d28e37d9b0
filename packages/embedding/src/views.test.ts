import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageGrid } from './image-grid.js';
import { neighboursGrid } from './neighbours-grid.js';
import { labelColor } from './raster.js';
import { scatterPlot } from './scatter-plot.js';
import { expectCode } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function pixel(img: tf.Tensor3D, x: number, y: number): number[] {
  const [, w] = img.shape;
  const d = img.dataSync();
  return [d[3 * (y * w + x)], d[3 * (y * w + x) + 1], d[3 * (y * w + x) + 2]];
}

describe('scatterPlot', () => {
  const points = [
    Float32Array.of(0, 0),
    Float32Array.of(10, 10),
    Float32Array.of(10, 0),
    Float32Array.of(0, 10),
  ];
  const labels = [0, 1, 1, 2];

  it('writes one circle per point, grouped by class colour, with an escaped legend', () => {
    const svg = scatterPlot(points, {
      labels,
      labelNames: ['cat', 'dog & co', '<bird>'],
      width: 400,
      height: 300,
      title: 'map',
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).toContain('dog &amp; co');
    expect(svg).toContain('&lt;bird&gt;');
    const dogGroup = svg.split(`<g fill="#ff7f0e"`)[1].split('</g>')[0];
    expect(dogGroup.match(/<circle /g)).toHaveLength(2);
    // Equal axis scaling: the square's corners keep equal width and height in pixels.
    const cs = [...svg.matchAll(/cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const xs = cs.map((c) => c[0]);
    const ys = cs.map((c) => c[1]);
    expect(Math.max(...xs) - Math.min(...xs)).toBeCloseTo(Math.max(...ys) - Math.min(...ys), 0);
    // y grows upwards: point (0, 10) is drawn above point (0, 0).
    expect(cs[3][1]).toBeLessThan(cs[0][1]);
  });

  it('rasterises points in their class colour with swatches', () => {
    const before = tf.memory().numTensors;
    const img = scatterPlot(points, {
      labels,
      format: 'png',
      width: 200,
      height: 200,
      pointRadius: 4,
      opacity: 1,
    });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(img.shape).toEqual([200, 200, 3]);
    const data = img.dataSync();
    const count = (c: number[]) => {
      let k = 0;
      for (let p = 0; p < 200 * 200; p++)
        if (
          Math.abs(data[3 * p] - c[0]) < 1e-3 &&
          Math.abs(data[3 * p + 1] - c[1]) < 1e-3 &&
          Math.abs(data[3 * p + 2] - c[2]) < 1e-3
        )
          k++;
      return k;
    };
    // Class 1 has two discs, classes 0 and 2 one each; every class has a 12x12 swatch.
    const c0 = count(labelColor(0));
    const c1 = count(labelColor(1));
    expect(c0).toBeGreaterThan(144);
    expect(c1 - 144).toBeGreaterThan(1.6 * (c0 - 144));
    img.dispose();
  });

  it('rejects bad input', async () => {
    await expectCode(() => scatterPlot([]), 'BAD_INPUT', /non-empty/);
    await expectCode(() => scatterPlot([[0, NaN]]), 'BAD_INPUT', /non-finite/);
    await expectCode(() => scatterPlot(points, { labels: [0, 1] }), 'BAD_INPUT', /one entry per point/);
    await expectCode(() => scatterPlot(points, { labels: [0, 1, 1.5, 2] }), 'BAD_INPUT', /integer/);
    await expectCode(() => scatterPlot(points, { format: 'jpg' as 'svg' }), 'BAD_OPTION', /format/);
    await expectCode(() => scatterPlot(points, { width: 4 }), 'BAD_OPTION', /width/);
  });
});

describe('imageGrid', () => {
  it('draws each thumbnail at its point and snaps to free cells in grid layout', async () => {
    const thumbs = [tf.fill([8, 8, 3], 0) as tf.Tensor3D, tf.fill([8, 8, 1], 0.5) as tf.Tensor3D];
    thumbs[1] = tf.fill([8, 8, 3], 0.5) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const img = await imageGrid(
      [
        [0, 0],
        [1, 1],
      ],
      thumbs,
      { width: 64, height: 64, thumbSize: 16 },
    );
    expect(tf.memory().numTensors).toBe(before + 1);
    // Point (0,0) maps to the bottom-left corner, (1,1) to the top-right.
    expect(pixel(img, 8, 64 - 8)).toEqual([0, 0, 0]);
    expect(pixel(img, 64 - 8, 8)).toEqual([0.5, 0.5, 0.5]);
    expect(pixel(img, 32, 32)).toEqual([1, 1, 1]);
    img.dispose();
    // Three identical points: in grid layout they take three different cells.
    const batch = tf.stack([
      tf.fill([4, 4, 1], 0),
      tf.fill([4, 4, 1], 0.25),
      tf.fill([4, 4, 1], 0.75),
    ]) as tf.Tensor4D;
    const grid = await imageGrid(
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      batch,
      { width: 32, height: 32, thumbSize: 8, layout: 'grid' },
    );
    const values = new Set<number>();
    const d = grid.dataSync();
    for (let p = 0; p < 32 * 32; p++) values.add(Math.round(d[3 * p] * 100));
    expect([...values].sort((a, b) => a - b)).toEqual([0, 25, 75, 100]);
    grid.dispose();
    batch.dispose();
    thumbs.forEach((t) => t.dispose());
  });

  it('rejects bad input', async () => {
    const t = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    await expectCode(
      () =>
        imageGrid(
          [
            [0, 0],
            [1, 1],
          ],
          [t],
        ),
      'BAD_INPUT',
      /one thumbnail per point/,
    );
    await expectCode(
      () =>
        imageGrid(
          [
            [0, 0],
            [1, 1],
            [2, 2],
          ],
          [t, t, t],
          { width: 8, height: 8, thumbSize: 8, layout: 'grid' },
        ),
      'BAD_OPTION',
      /holds 1/,
    );
    await expectCode(() => imageGrid([[0, 0]], [t], { thumbSize: 0 }), 'BAD_OPTION', /thumbSize/);
    t.dispose();
  });
});

describe('neighboursGrid', () => {
  it('shows the query framed, then neighbours with bars proportional to distance', async () => {
    const q = tf.zeros([10, 10, 3]) as tf.Tensor3D;
    const nb = [tf.zeros([10, 10, 3]) as tf.Tensor3D, tf.zeros([10, 10, 3]) as tf.Tensor3D];
    const before = tf.memory().numTensors;
    const img = await neighboursGrid(q, nb, [1, 2], { thumbSize: 48, pad: 6 });
    expect(tf.memory().numTensors).toBe(before + 1);
    const [h, w] = img.shape;
    expect(w).toBe(6 + 48 + 12 + 2 * (48 + 6));
    expect(h).toBeGreaterThan(48 + 12);
    // Frame around the query.
    expect(pixel(img, 4, 30)).toEqual([1, 0.5, expect.closeTo(0.05, 5)]);
    // Bars: the second is full width (48 px), the first half (24 px).
    const barY = 6 + 48 + 6;
    const blue = (x: number) => pixel(img, x, barY)[2] > 0.7 && pixel(img, x, barY)[0] < 0.3;
    const x1 = 6 + 48 + 12;
    const x2 = x1 + 48 + 6;
    let len1 = 0;
    let len2 = 0;
    for (let x = 0; x < 48; x++) {
      if (blue(x1 + x)) len1++;
      if (blue(x2 + x)) len2++;
    }
    expect(len2).toBe(48);
    expect(len1).toBe(24);
    img.dispose();
    await expectCode(() => neighboursGrid(q, nb, [1]), 'BAD_INPUT', /one distance per neighbour/);
    await expectCode(() => neighboursGrid(q, nb, [1, -2]), 'BAD_INPUT', />= 0/);
    await expectCode(() => neighboursGrid(q, [], []), 'BAD_IMAGE', /non-empty/);
    q.dispose();
    nb.forEach((t) => t.dispose());
  });
});
