import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LayerInfo, VisionModel } from '@cnnviz/core';
import { receptiveField, receptiveFieldBox } from './receptive-field.js';
import { tinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A model that is only a layer list: receptive fields need nothing else. */
function layersOnly(inputShape: [number, number, number], layers: LayerInfo[]): VisionModel {
  return {
    inputShape,
    layers,
    preprocess: () => {
      throw new Error('not used');
    },
    forward: () => {
      throw new Error('not used');
    },
  };
}

const conv = (
  name: string,
  k: number,
  s: number,
  padding: 'same' | 'valid',
  outputShape: (number | null)[],
  extra: Partial<LayerInfo> = {},
  dilation = 1,
): LayerInfo => ({
  name,
  kind: 'Conv2D',
  outputShape,
  kernel: { size: [k, k], strides: [s, s], padding, dilation: [dilation, dilation] },
  ...extra,
});

describe('receptiveField', () => {
  it('chains kernel size, stride and padding (hand-computed)', () => {
    const model = layersOnly(
      [16, 16, 1],
      [
        conv('c1', 3, 1, 'valid', [14, 14, 4]),
        { name: 'r1', kind: 'ReLU', outputShape: [14, 14, 4] },
        conv('c2', 3, 2, 'valid', [6, 6, 4]),
        {
          name: 'p',
          kind: 'MaxPooling2D',
          outputShape: [3, 3, 4],
          kernel: { size: [2, 2], strides: [2, 2], padding: 'valid' },
        },
        { name: 'flat', kind: 'Flatten', outputShape: [36] },
      ],
    );
    expect(receptiveField(model, 'c1')).toMatchObject({
      size: [3, 3],
      stride: [1, 1],
      offset: [0, 0],
      outputSize: [14, 14],
    });
    expect(receptiveField(model, 'r1')).toMatchObject({ size: [3, 3], stride: [1, 1], offset: [0, 0] });
    expect(receptiveField(model, 'c2')).toMatchObject({ size: [5, 5], stride: [2, 2], offset: [0, 0] });
    expect(receptiveField(model, 'p')).toMatchObject({
      size: [7, 7],
      stride: [4, 4],
      offset: [0, 0],
      outputSize: [3, 3],
    });
    expect(() => receptiveField(model, 'flat')).toThrow(expect.objectContaining({ code: 'BAD_LAYER' }));
    expect(() => receptiveField(model, 'c3')).toThrow(expect.objectContaining({ code: 'UNKNOWN_LAYER' }));
  });

  it("'same' padding follows TensorFlow (pad before = floor(total / 2), depends on the input size); dilation widens the kernel", () => {
    const model = layersOnly([null, null, 1] as never, [
      conv('c', 3, 2, 'same', [null, null, 1]),
      conv('d', 3, 1, 'same', [null, null, 1], {}, 2),
    ]);
    // 8 px: out 4, total pad (4-1)*2+3-8 = 1 → 0 before. 7 px: out 4, total 2 → 1 before.
    expect(receptiveField(model, 'c', [8, 8]).offset).toEqual([0, 0]);
    expect(receptiveField(model, 'c', [7, 7]).offset).toEqual([-1, -1]);
    // Dilation 2: effective kernel 5, seen through stride 2 → +8; 'same' with stride 1 pads 2 before.
    expect(receptiveField(model, 'd', [8, 8])).toMatchObject({
      size: [11, 11],
      stride: [2, 2],
      offset: [-4, -4],
    });
  });

  it('zero padding (Keras correct_pad) and residual branches (union of fields)', () => {
    const model = layersOnly(
      [8, 8, 3],
      [
        { name: 'pad', kind: 'ZeroPadding2D', outputShape: [9, 9, 3] },
        { ...conv('dw', 3, 2, 'valid', [4, 4, 3]), kind: 'DepthwiseConv2D', inputs: ['pad'] },
        conv('a', 1, 1, 'valid', [4, 4, 3], { inputs: ['dw'] }),
        conv('b', 3, 1, 'same', [4, 4, 3], { inputs: ['dw'] }),
        { name: 'add', kind: 'Add', outputShape: [4, 4, 3], inputs: ['a', 'b'] },
      ],
    );
    expect(receptiveField(model, 'dw')).toMatchObject({ size: [3, 3], stride: [2, 2], offset: [0, 0] });
    expect(receptiveField(model, 'b')).toMatchObject({ size: [7, 7], stride: [2, 2], offset: [-2, -2] });
    expect(receptiveField(model, 'add')).toMatchObject({ size: [7, 7], stride: [2, 2], offset: [-2, -2] });
    const rf = receptiveField(model, 'add');
    expect(receptiveFieldBox(rf, 0, 3, [8, 8])).toEqual({ top: 0, left: 4, height: 5, width: 4 });
  });

  it('matches the support of the gradient of a unit on a positive all-ones conv net', async () => {
    // With positive weights and inputs every input pixel in the field moves the unit, and no other does.
    const ones = (n: number) => new Array(n).fill(1);
    const net = tinyNet(
      [13, 11, 1],
      [
        {
          type: 'conv',
          name: 'c1',
          shape: [3, 3, 1, 1],
          kernel: ones(9),
          bias: [0],
          padding: 'same',
          stride: 2,
        },
        { type: 'conv', name: 'c2', shape: [2, 2, 1, 1], kernel: ones(4), bias: [0], padding: 'valid' },
        {
          type: 'conv',
          name: 'c3',
          shape: [3, 3, 1, 1],
          kernel: ones(9),
          bias: [0],
          padding: 'same',
          stride: 2,
        },
        { type: 'flatten', name: 'flat' },
      ],
    );
    const rf = receptiveField(net, 'c3');
    const img = tf.ones([1, 13, 11, 1]) as tf.Tensor4D;
    const [oh, ow] = rf.outputSize;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const g = tf.tidy(() =>
          tf.grad((t: tf.Tensor) =>
            tf.sum(
              tf.slice(net.forward(t as tf.Tensor4D, ['c3']).activations.c3, [0, y, x, 0], [1, 1, 1, 1]),
            ),
          )(img),
        );
        const data = await g.data();
        g.dispose();
        const box = receptiveFieldBox(rf, y, x, [13, 11]);
        for (let p = 0; p < 13; p++) {
          for (let q = 0; q < 11; q++) {
            const inside =
              p >= box.top && p < box.top + box.height && q >= box.left && q < box.left + box.width;
            expect(data[p * 11 + q] > 0, `unit (${y},${x}) pixel (${p},${q})`).toBe(inside);
          }
        }
      }
    }
    img.dispose();
    net.dispose();
  });
});
