import type * as tf from '@tensorflow/tfjs-core';

export type PadSpec = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

/** One convolution: input NHWC, filter [fH, fW, inC, outC|M], strides, padding. */
export interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: [number, number];
  pad: PadSpec;
}

/** Shapes, strides and paddings shared by the convolution-gradient tests. */
export const convCases: ConvCase[] = [
  { x: [2, 7, 8, 3], f: [3, 3, 3, 4], s: [1, 1], pad: 'same' },
  { x: [2, 7, 8, 3], f: [3, 3, 3, 4], s: [1, 1], pad: 'valid' },
  { x: [1, 9, 7, 5], f: [3, 2, 5, 6], s: [2, 2], pad: 'same' },
  { x: [1, 9, 7, 5], f: [3, 3, 5, 6], s: [2, 2], pad: 'valid' },
  { x: [1, 8, 8, 4], f: [3, 3, 4, 2], s: [2, 2], pad: 'same' },
  { x: [1, 10, 10, 2], f: [4, 4, 2, 3], s: [2, 2], pad: 'valid' },
  { x: [3, 8, 8, 2], f: [5, 5, 2, 3], s: [3, 3], pad: 'same' },
  { x: [1, 11, 9, 3], f: [2, 3, 3, 2], s: [3, 2], pad: 'valid' },
  { x: [1, 6, 6, 4], f: [1, 1, 4, 8], s: [1, 1], pad: 'valid' },
  {
    x: [1, 7, 6, 2],
    f: [3, 3, 2, 3],
    s: [2, 1],
    pad: [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ],
  },
  // Strided shapes for the sub-pixel path: odd sizes (MobileNet's stem), filters smaller than the stride, explicit pads.
  { x: [1, 13, 13, 3], f: [3, 3, 3, 4], s: [2, 2], pad: 'valid' },
  { x: [1, 8, 9, 2], f: [1, 1, 2, 3], s: [2, 2], pad: 'same' },
  { x: [1, 10, 11, 2], f: [2, 2, 2, 3], s: [3, 3], pad: 'same' },
  { x: [1, 12, 12, 2], f: [3, 3, 2, 2], s: [4, 4], pad: 'valid' },
  {
    x: [2, 9, 9, 2],
    f: [3, 3, 2, 2],
    s: [2, 2],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
];
