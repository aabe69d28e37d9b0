import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { colormapLut } from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import { overlay, toHeatmap } from './render.js';
import { upsample } from './upsample.js';
import { captumConvNet, expectClose, expectNoLeak } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const lut = (name: 'rdbu' | 'inferno' | 'jet', i: number) =>
  Array.from(colormapLut(name).slice(3 * i, 3 * i + 3));

describe('toHeatmap / overlay', () => {
  it('signed results use a diverging map centred on 0; unsigned ones are min-max scaled', async () => {
    const signedMap = tf.tensor2d([[-2, 0, 2, 1]]);
    const signed = toHeatmap({ map: signedMap, signed: true }) as tf.Tensor3D;
    const s = await signed.data();
    expectClose(s.slice(0, 3), lut('rdbu', 0), 1e-6);
    expectClose(s.slice(3, 6), lut('rdbu', 128), 1e-6); // 0 → the middle (white)
    expectClose(s.slice(6, 9), lut('rdbu', 255), 1e-6);
    const unsigned = toHeatmap(signedMap) as tf.Tensor3D; // a bare map is unsigned: min → first colour
    const u = await unsigned.data();
    expectClose(u.slice(0, 3), lut('inferno', 0), 1e-6);
    expectClose(u.slice(6, 9), lut('inferno', 255), 1e-6);
    tf.dispose([signedMap, signed, unsigned]);
  });

  it('clipPercentile saturates the largest values instead of scaling to the single largest', async () => {
    // 0..99 plus one outlier: with 1 % clipped, 99 and the outlier both get the top colour and 0 the first.
    const map = tf.tensor2d([...Array.from({ length: 99 }, (_, i) => i), 10_000], [1, 100]);
    const h = toHeatmap(map, { clipPercentile: 1 }) as tf.Tensor3D;
    const d = await h.data();
    expectClose(d.slice(0, 3), lut('inferno', 0), 1e-6);
    expectClose(d.slice(3 * 98, 3 * 99), lut('inferno', 255), 1e-6);
    expectClose(d.slice(3 * 49, 3 * 50), lut('inferno', Math.round((49 / 98) * 255)), 1e-6);
    const plain = toHeatmap(map) as tf.Tensor3D;
    expectClose((await plain.data()).slice(3 * 98, 3 * 99), lut('inferno', 2), 1e-6); // round(98 / 10000 * 255) = 2
    tf.dispose([map, h, plain]);
  });

  it('overlay upsamples a layer-resolution Grad-CAM to the image and blends with alpha', async () => {
    const net = captumConvNet();
    const img = tf.div(
      tf.tensor3d(
        Array.from({ length: 16 }, (_, i) => i),
        [4, 4, 1],
      ),
      15,
    ) as tf.Tensor3D;
    const cam = await gradCam(net, img, { target: 0, layer: 'conv1' });
    await expectNoLeak(() => tf.dispose(overlay(img, cam)));
    const full = overlay(img, cam, { alpha: 1 });
    const expected = tf.tidy(() => toHeatmap(upsample(cam.map, [4, 4]), { colormap: 'jet' }));
    expect(full.shape).toEqual([4, 4, 3]);
    expectClose(await full.data(), await expected.data(), 1e-6);
    const none = overlay(img, cam, { alpha: 0 });
    expectClose(await none.data(), await tf.tile(img, [1, 1, 3]).data(), 1e-6);
    tf.dispose([full, expected, none, img]);
    cam.dispose();
    net.dispose();
  });

  it('batch results render to batches', async () => {
    const maps = tf.randomUniform([2, 3, 3]) as tf.Tensor3D;
    const images = tf.randomUniform([2, 3, 3, 3]) as tf.Tensor4D;
    const h = toHeatmap({ map: maps, signed: false });
    const o = overlay(images, { map: maps });
    expect(h.shape).toEqual([2, 3, 3, 3]);
    expect(o.shape).toEqual([2, 3, 3, 3]);
    const first = toHeatmap(tf.unstack(maps)[0] as tf.Tensor2D);
    expectClose((await h.data()).slice(0, 27), await first.data(), 1e-6);
    expect(() => overlay(images, { map: tf.unstack(maps)[0] })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
    tf.dispose([maps, images, h, o, first]);
  });
});
