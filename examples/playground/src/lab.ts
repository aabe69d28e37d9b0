import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@cnnviz/core';
import { gradCam, guidedBackprop, saliency } from '@cnnviz/attribution';
import { backendInfo, drawTensor, imageFromElement, type BackendInfo, type ImageSource } from '@cnnviz/web';
import { zoo } from '@cnnviz/models';
import { MODELS, loadPicture } from './catalog.js';
import { setup } from './setup.js';
import { predict, runTechnique, type TechniqueId } from './techniques.js';
import { tinyMobileNet } from './tiny-mobilenet.js';

/** Gradients computed in the page, for comparison with the same computed in Node. */
export interface GradientReport {
  backend: string;
  shape: number[];
  /** The exact input used (so the reference sees the same pixels). */
  input: number[];
  target: number;
  saliency: number[];
  guided: number[];
  gradcam: number[];
  gradcamShape: number[];
  tensorsBefore: number;
  tensorsAfter: number;
}

export interface BenchReport {
  backend: string;
  technique: TechniqueId;
  model: string;
  steps: number | undefined;
  /** Wall time of each repeat, ms. */
  ms: number[];
}

/** Which model the gradient check runs on: the zoo's fashionCnn, or the seeded MobileNetV2-shaped net. */
export interface GradientSpec {
  model: 'fashionCnn' | 'tinyMobileNet';
  image: string;
  /** Grad-CAM layer. */
  layer: string;
  /** Class; default the model's prediction on the (noisy) input. */
  target?: number;
  /**
   * Uniform noise of this amplitude added to the (slightly contracted) image. Max pooling over a
   * flat region is a tie, and backends break ties differently (each a valid subgradient); noise
   * makes the gradient unique, so backends can be compared exactly.
   */
  noise?: number;
}

function withNoise(image: tf.Tensor3D, amplitude: number): tf.Tensor3D {
  const rng = createRng(7);
  const noise = Float32Array.from({ length: image.size }, () => (rng() - 0.5) * amplitude);
  return tf.tidy(
    () => tf.add(tf.add(tf.mul(image, 0.9), 0.05), tf.tensor(noise, image.shape)) as tf.Tensor3D,
  );
}

async function gradients(spec: GradientSpec): Promise<GradientReport> {
  const model = spec.model === 'fashionCnn' ? await zoo.fashionCnn() : tinyMobileNet();
  const clean = await loadPicture(spec.image, model);
  const image = spec.noise ? withNoise(clean, spec.noise) : clean.clone();
  clean.dispose();
  const { layer } = spec;
  const target = spec.target ?? (await predict(model, image)).label;
  try {
    const tensorsBefore = tf.memory().numTensors;
    const s = await saliency(model, image, { target });
    const g = await guidedBackprop(model, image, { target });
    const c = await gradCam(model, image, { target, layer });
    const out = {
      backend: tf.getBackend(),
      shape: image.shape,
      input: Array.from(await image.data()),
      target,
      saliency: Array.from(await s.raw.data()),
      guided: Array.from(await g.raw.data()),
      gradcam: Array.from(await c.map.data()),
      gradcamShape: c.map.shape,
      tensorsBefore,
      tensorsAfter: 0,
    };
    s.dispose();
    g.dispose();
    c.dispose();
    out.tensorsAfter = tf.memory().numTensors;
    return out;
  } finally {
    image.dispose();
    model.dispose?.();
  }
}

async function bench(
  technique: TechniqueId,
  modelId: string,
  imageName: string,
  steps: number | undefined,
  repeats: number,
  warmup = 1,
): Promise<BenchReport> {
  const model = await MODELS.find((m) => m.id === modelId)!.load();
  const image = await loadPicture(imageName, model);
  const canvas = document.getElementById('scratch') as HTMLCanvasElement;
  const emit = async (f: { picture?: tf.Tensor3D }) => {
    if (!f.picture) return;
    try {
      await drawTensor(canvas, f.picture);
    } finally {
      f.picture.dispose();
    }
  };
  const ms: number[] = [];
  try {
    // Untimed runs first compile the shaders / warm the kernels.
    for (let i = 0; i < warmup + repeats; i++) {
      const t0 = performance.now();
      await runTechnique(technique, { model, image, steps }, emit);
      if (i >= warmup) ms.push(performance.now() - t0);
    }
  } finally {
    image.dispose();
    model.dispose?.();
  }
  return { backend: tf.getBackend(), technique, model: modelId, steps, ms };
}

/** Pixel values of a known 4x3 pattern read back through every image source and drawn again. */
export interface CanvasReport {
  /** RGBA bytes of the pattern. */
  rgba: number[];
  /** imageFromElement output (0..1, RGB) per source kind. */
  fromSources: Record<string, number[]>;
  luma: number[];
  resizedShape: number[];
  /** drawTensor of the RGB tensor, read back (RGBA bytes). */
  drawn: number[];
  /** drawTensor at 2x: size and the top-left 2x2 block. */
  scaled: { width: number; height: number; block: number[] };
  errors: string[];
  tensorsBefore: number;
  tensorsAfter: number;
}

async function canvasCheck(): Promise<CanvasReport> {
  const w = 4;
  const h = 3;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([i * 20, 255 - i * 20, (i * 37) % 256, 255], 4 * i);
  const tensorsBefore = tf.memory().numTensors;
  const data = new ImageData(rgba, w, h);
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d')!.putImageData(data, 0, 0);
  const offscreen = new OffscreenCanvas(w, h);
  offscreen.getContext('2d')!.putImageData(data, 0, 0);
  const bitmap = await createImageBitmap(data);
  const img = new Image();
  img.src = canvas.toDataURL('image/png');
  await img.decode();
  const sources: Record<string, ImageSource> = { imageData: data, canvas, offscreen, bitmap, img };
  const fromSources: Record<string, number[]> = {};
  for (const [name, src] of Object.entries(sources)) {
    const t = imageFromElement(src);
    fromSources[name] = Array.from(await t.data());
    t.dispose();
  }
  const lumaT = imageFromElement(data, { channels: 1 });
  const luma = Array.from(await lumaT.data());
  lumaT.dispose();
  const big = imageFromElement(data, { size: 8 });
  const resizedShape = big.shape;
  big.dispose();
  const rgb = imageFromElement(data);
  const out = document.createElement('canvas');
  await drawTensor(out, rgb);
  const drawn = Array.from(out.getContext('2d')!.getImageData(0, 0, w, h).data);
  await drawTensor(out, rgb, { width: 2 * w, height: 2 * h });
  const block = Array.from(out.getContext('2d')!.getImageData(0, 0, 2, 2).data);
  const scaled = { width: out.width, height: out.height, block };
  rgb.dispose();
  const errors: string[] = [];
  const code = (f: () => unknown) => {
    try {
      f();
      errors.push('no error');
    } catch (e) {
      errors.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
    }
  };
  code(() => imageFromElement(new Image()));
  code(() => imageFromElement({} as ImageSource));
  code(() => imageFromElement(data, { channels: 2 as 1 }));
  await drawTensor(out, 'x' as unknown as tf.Tensor3D).catch((e: unknown) =>
    errors.push(`${(e as { code?: string }).code}: ${(e as Error).message}`),
  );
  bitmap.close();
  return {
    rgba: Array.from(rgba),
    fromSources,
    luma,
    resizedShape,
    drawn,
    scaled,
    errors,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}

declare global {
  interface Window {
    lab: {
      info: BackendInfo;
      gradients: typeof gradients;
      bench: typeof bench;
      canvasCheck: typeof canvasCheck;
      numTensors(): number;
    };
  }
}

setup()
  .then((info) => {
    window.lab = { info, gradients, bench, canvasCheck, numTensors: () => tf.memory().numTensors };
    document.body.dataset.backend = backendInfo().name;
    document.body.dataset.state = 'ready';
  })
  .catch((e: unknown) => {
    document.body.dataset.error = String((e as Error)?.message ?? e);
    document.body.dataset.state = 'error';
  });
