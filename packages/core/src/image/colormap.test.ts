import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyColormap, colormapLut, type ColormapName } from './colormap.js';
import { overlayHeatmap } from './overlay.js';
import { expectClose, noLeak } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const hex = (h: string) => [0, 2, 4].map((o) => parseInt(h.slice(o, o + 2), 16) / 255);

describe('applyColormap', () => {
  it('viridis and inferno endpoints and midpoints equal matplotlib', async () => {
    const map = tf.tensor2d([0, 1, 128 / 255], [1, 3]);
    await noLeak(
      () => applyColormap(map, 'viridis'),
      async (o) => {
        expect(o.shape).toEqual([1, 3, 3]);
        // matplotlib viridis(0) = #440154, viridis(1) = #fde725, viridis[128] = (0.127568, 0.566949, 0.550556)
        expectClose(
          await o.data(),
          [...hex('440154'), ...hex('fde725'), 0.127568, 0.566949, 0.550556],
          0.003,
        );
      },
    );
    // inferno(0) = (0.001462, 0.000466, 0.013866), inferno(1) = (0.988362, 0.998364, 0.644924)
    await noLeak(
      () => applyColormap(map, 'inferno'),
      async (o) =>
        expectClose(
          (await o.data()).slice(0, 6),
          [0.001462, 0.000466, 0.013866, 0.988362, 0.998364, 0.644924],
          0.003,
        ),
    );
    map.dispose();
  });

  it('min-max scales unsigned maps (any range) and uses the given fixed range', async () => {
    const map = tf.tensor2d([-3, 7], [1, 2]);
    await noLeak(
      () => applyColormap(map, 'gray'),
      async (o) => expectClose(await o.data(), [0, 0, 0, 1, 1, 1]),
    );
    await noLeak(
      () => applyColormap(map, 'gray', { range: [-13, 7] }),
      async (o) => expectClose(await o.data(), [0.5, 0.5, 0.5, 1, 1, 1], 0.003),
    );
    map.dispose();
  });

  it('jet follows matplotlib segment data', async () => {
    const map = tf.tensor2d([0, 1, 0.5], [1, 3]);
    const x = 128 / 255;
    await noLeak(
      () => applyColormap(map, 'jet'),
      async (o) =>
        expectClose(
          await o.data(),
          [0, 0, 0.5, 0.5, 0, 0, (x - 0.35) / 0.31, 1, 1 - (x - 0.34) / 0.31],
          1e-5,
        ),
    );
    map.dispose();
  });

  it('rdbu is signed and centred at 0: negative blue, 0 white, positive red', async () => {
    const map = tf.tensor2d([-2, 0, 2, 0.5], [1, 4]);
    await noLeak(
      () => applyColormap(map, 'rdbu'),
      async (o) => {
        const d = await o.data();
        expectClose(d.slice(0, 3), hex('053061'), 1e-6);
        expectClose(d.slice(3, 6), hex('f7f7f7'), 0.01);
        expectClose(d.slice(6, 9), hex('67001f'), 1e-6);
        expect(d[9]).toBeGreaterThan(d[11]); // +0.25 of max: reddish
      },
    );
    // An all-zero signed map is all white, not NaN.
    const zero = tf.zeros([2, 2]) as tf.Tensor2D;
    await noLeak(
      () => applyColormap(zero, 'rdbu'),
      async (o) => expectClose(await o.data(), new Array(12).fill(hex('f7f7f7')[0]), 0.01),
    );
    tf.dispose([map, zero]);
  });

  it('every table is 256 RGB entries in 0..1 (viridis green rises monotonically)', () => {
    for (const name of ['viridis', 'inferno', 'jet', 'gray', 'rdbu'] as ColormapName[]) {
      const lut = colormapLut(name);
      expect(lut.length).toBe(768);
      expect(Math.min(...lut)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...lut)).toBeLessThanOrEqual(1);
    }
    const v = colormapLut('viridis');
    for (let i = 1; i < 256; i++) expect(v[3 * i + 1]).toBeGreaterThanOrEqual(v[3 * (i - 1) + 1]);
  });

  it('rejects bad input', () => {
    const map = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(() => applyColormap(map, 'hot' as ColormapName)).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
    expect(() => applyColormap(tf.zeros([2, 2, 1]) as unknown as tf.Tensor2D)).toThrow(
      expect.objectContaining({ code: 'BAD_IMAGE' }),
    );
    expect(() => applyColormap(map, 'gray', { range: [1, 1] })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
    map.dispose();
  });
});

describe('overlayHeatmap', () => {
  it('resizes the map to the image and blends with alpha', async () => {
    const img = tf.fill([4, 4, 3], 0.2) as tf.Tensor3D;
    const map = tf.tensor2d([0, 1, 0, 1], [2, 2]);
    // Columns of the upsampled map: 0, .25, .75, 1 → gray table entries round(v*255)/255.
    const cols = [0, 64 / 255, 191 / 255, 1];
    const expected = [0, 1, 2, 3].flatMap(() =>
      cols.flatMap((v) => [v, v, v].map((g) => 0.5 * 0.2 + 0.5 * g)),
    );
    await noLeak(
      () => overlayHeatmap(img, map, { colormap: 'gray' }),
      async (o) => {
        expect(o.shape).toEqual([4, 4, 3]);
        expectClose(await o.data(), expected, 1e-5);
      },
    );
    await noLeak(
      () => overlayHeatmap(img, map, { alpha: 0 }),
      async (o) => expectClose(await o.data(), new Array(48).fill(0.2)),
    );
    tf.dispose([img, map]);
  });

  it('shows a 1-channel image as grey and rejects a bad alpha', async () => {
    const img = tf.fill([2, 2, 1], 0.4) as tf.Tensor3D;
    const map = tf.zeros([2, 2]) as tf.Tensor2D;
    await noLeak(
      () => overlayHeatmap(img, map, { alpha: 0.25, colormap: 'gray' }),
      async (o) => expectClose(await o.data(), new Array(12).fill(0.3)),
    );
    expect(() => overlayHeatmap(img, map, { alpha: 2 })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
    tf.dispose([img, map]);
  });
});
