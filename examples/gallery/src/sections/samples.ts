import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import type { Gallery } from '../gallery.js';

/** The bundled Fashion-MNIST test images the attribution sections explain. */
export const FASHION_SAMPLES = [
  'fashion-tshirt',
  'fashion-trouser',
  'fashion-dress',
  'fashion-sneaker',
  'fashion-bag',
  'fashion-ankle-boot',
];

export interface Sample {
  name: string;
  image: tf.Tensor3D;
  /** The model's predicted class. */
  label: number;
  labelName: string;
  prob: number;
}

/** Predicted class and its probability. */
export async function classify(
  model: VisionModel,
  image: tf.Tensor3D,
): Promise<{ label: number; prob: number }> {
  const probs = tf.tidy(() => tf.softmax(tf.squeeze(model.forward(model.preprocess(image)).logits, [0])));
  const p = await probs.data();
  probs.dispose();
  let label = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[label]) label = i;
  return { label, prob: p[label] };
}

/** The fashion samples with fashion-cnn's predictions (images owned by the gallery). */
export async function fashionSamples(
  g: Gallery,
  names = FASHION_SAMPLES,
): Promise<{ model: VisionModel; samples: Sample[] }> {
  const model = await g.fashion();
  const samples: Sample[] = [];
  for (const name of names) {
    const image = await g.image(name, 28, 1);
    const { label, prob } = await classify(model, image);
    samples.push({ name, image, label, labelName: model.labels?.[label] ?? String(label), prob });
  }
  return { model, samples };
}
