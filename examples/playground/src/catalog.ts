import * as tf from '@tensorflow/tfjs-core';
import { cropOrPad, readImageHeader, resize, type VisionModel } from '@cnnviz/core';
import { images, zoo, type ZooModel } from '@cnnviz/models';
import { imageFromFile } from '@cnnviz/web';

/** A zoo model the page offers. */
export interface ModelChoice {
  id: string;
  label: string;
  load(): Promise<ZooModel>;
}

export const MODELS: ModelChoice[] = [
  {
    id: 'fashionCnn',
    label: 'fashionCnn — Fashion-MNIST, 28×28 grey (fast)',
    load: () => zoo.fashionCnn(),
  },
  {
    id: 'mobilenetV2-128',
    label: 'mobilenetV2Features — ImageNet backbone, 128 px',
    load: () => zoo.mobilenetV2Features({ inputSize: 128 }),
  },
  {
    id: 'mobilenetV2-224',
    label: 'mobilenetV2Features — ImageNet backbone, 224 px (slow)',
    load: () => zoo.mobilenetV2Features({ inputSize: 224 }),
  },
];

/** Bundled images suited to a model first (Fashion-MNIST items for fashionCnn, photos otherwise). */
export function imagesFor(model: ZooModel): string[] {
  const all = images.list();
  const fashion = all.filter((n) => n.startsWith('fashion-'));
  const photos = all.filter((n) => !n.startsWith('fashion-'));
  return model.inputShape[2] === 1 ? [...fashion, ...photos] : [...photos, ...fashion];
}

/** Bundled paintings and textures for style transfer. */
export const STYLE_IMAGES = ['starry_night', 'scream', 'brick', 'grass'];

/** The model's input size `[h, w]` (fixed for the zoo models the page offers). */
export function modelSize(model: VisionModel): [number, number] {
  const [h, w] = model.inputShape;
  const nominal = (model as Partial<ZooModel>).entry?.inputSize ?? [224, 224];
  return [h ?? nominal[0], w ?? nominal[1]];
}

/** Scales the shorter side to the target and centre-crops: no distortion. */
function fitSquare(img: tf.Tensor3D, [h, w]: [number, number]): tf.Tensor3D {
  return tf.tidy(() => {
    const [ih, iw] = img.shape;
    const k = Math.max(h / ih, w / iw);
    const scaled = resize(img, [Math.max(h, Math.round(ih * k)), Math.max(w, Math.round(iw * k))]);
    return cropOrPad(scaled, [h, w]);
  });
}

/** A bundled image at the model's input size and channel count, values 0..1. */
export async function loadPicture(name: string, model: VisionModel): Promise<tf.Tensor3D> {
  const raw = await images.load(name, { channels: model.inputShape[2] as 1 | 3 });
  try {
    return fitSquare(raw, modelSize(model));
  } finally {
    raw.dispose();
  }
}

/**
 * A dropped or chosen file (PNG, JPEG, WebP, GIF or BMP) at the model's input size; its header is
 * checked against the pixel limit before the browser decodes it.
 */
export async function pictureFromFile(file: Blob, model: VisionModel): Promise<tf.Tensor3D> {
  // A big photo is decoded at twice the model's size (the browser scales while decoding), not in full.
  const [th, tw] = modelSize(model);
  const head = readImageHeader(new Uint8Array(await file.slice(0, 1 << 20).arrayBuffer()));
  const k = head ? Math.max((2 * th) / head.height, (2 * tw) / head.width) : 1;
  const size: [number, number] | undefined =
    head && k < 1 ? [Math.round(head.height * k), Math.round(head.width * k)] : undefined;
  const raw = await imageFromFile(file, { channels: model.inputShape[2] as 1 | 3, size });
  try {
    return fitSquare(raw, modelSize(model));
  } finally {
    raw.dispose();
  }
}
