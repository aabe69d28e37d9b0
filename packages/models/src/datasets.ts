import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '@cnnviz/core';
import { gunzip, readAsset } from './assets.js';

/** Fashion-MNIST class names, index = label. */
export const FASHION_LABELS = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** A labelled image set held as tensors; `dispose()` frees them. */
export interface LabelledImages {
  /** `[N, H, W, C]` float32 in 0..1. */
  images: tf.Tensor4D;
  labels: Int32Array;
  classNames: string[];
  dispose(): void;
}

function parseIdx(buf: Uint8Array, what: string): { dims: number[]; data: Uint8Array } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = buf.byteLength >= 4 ? view.getUint32(0) : 0;
  if (magic >> 8 !== 0x08) throw new CnnvizError('MODEL_LOAD', `${what}: not a uint8 idx file`);
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  const off = 4 + 4 * nd;
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.byteLength - off !== size)
    throw new CnnvizError('MODEL_LOAD', `${what}: expected ${size} values, found ${buf.byteLength - off}`);
  return { dims, data: buf.subarray(off) };
}

/**
 * The first 1,000 images of the Fashion-MNIST test set (about 100 per class), bundled as gzipped
 * idx files (~0.3 MB): `[1000, 28, 28, 1]` in 0..1 plus labels. For fast accuracy checks and
 * embedding demos; zoo.fashionCnn never saw them in training.
 */
async function fashionMnistTest1k(): Promise<LabelledImages> {
  const [imgs, labs] = await Promise.all([
    readAsset('fashion-mnist-test-1k/images-idx3-ubyte.gz').then(gunzip),
    readAsset('fashion-mnist-test-1k/labels-idx1-ubyte.gz').then(gunzip),
  ]);
  const im = parseIdx(imgs, 'fashion-mnist-test-1k images');
  const lb = parseIdx(labs, 'fashion-mnist-test-1k labels');
  const [n, h, w] = im.dims;
  const px = new Float32Array(im.data.length);
  for (let i = 0; i < px.length; i++) px[i] = im.data[i] / 255;
  const images = tf.tensor4d(px, [n, h, w, 1]);
  return {
    images,
    labels: Int32Array.from(lb.data),
    classNames: [...FASHION_LABELS],
    dispose: () => images.dispose(),
  };
}

/** Small bundled data sets. */
export const datasets = { fashionMnistTest1k };
