import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkImageSize,
  closestNames,
  CnnvizError,
  decodeJpegRows,
  DEFAULT_MAX_PIXELS,
  readImageHeader,
} from '@cnnviz/core';
import { readAsset } from './assets.js';

/** One bundled image: where it came from and under which licence (see assets/images/NOTICE). */
export interface ImageEntry {
  file: string;
  width: number;
  height: number;
  /** Channels `load` returns by default (3 for photos and textures, 1 for Fashion-MNIST items). */
  channels: 1 | 3;
  description: string;
  licence: string;
  source: string;
}

const SKIMAGE = 'scikit-image data (Debian python3-skimage 0.19.3)';
const FASHION = {
  width: 28,
  height: 28,
  channels: 1 as const,
  licence: 'MIT (Fashion-MNIST, Zalando SE 2017)',
  source: 'Fashion-MNIST t10k test set (Debian dataset-fashion-mnist)',
};

/** The bundled images, by name. */
export const imageCatalog: Record<string, ImageEntry> = {
  chelsea: {
    file: 'chelsea.jpg',
    width: 256,
    height: 170,
    channels: 3,
    description: 'Chelsea the cat',
    licence: 'CC0 (photographer Stefan van der Walt)',
    source: SKIMAGE,
  },
  astronaut: {
    file: 'astronaut.jpg',
    width: 256,
    height: 256,
    channels: 3,
    description: 'Astronaut Eileen Collins (NASA)',
    licence: 'Public domain (NASA)',
    source: SKIMAGE,
  },
  coffee: {
    file: 'coffee.jpg',
    width: 256,
    height: 171,
    channels: 3,
    description: 'Coffee cup',
    licence: 'CC0 (photographer Rachel Michetti)',
    source: SKIMAGE,
  },
  brick: {
    file: 'brick.png',
    width: 256,
    height: 256,
    channels: 3,
    description: 'Brick wall texture (grayscale)',
    licence: 'CC0 (CC0Textures Bricks25)',
    source: SKIMAGE,
  },
  grass: {
    file: 'grass.png',
    width: 256,
    height: 256,
    channels: 3,
    description: 'Grass texture (grayscale)',
    licence: 'CC0 (linolafett, DeviantArt)',
    source: SKIMAGE,
  },
  starry_night: {
    file: 'starry_night.jpg',
    width: 256,
    height: 204,
    channels: 3,
    description: 'Vincent van Gogh, The Starry Night (1889)',
    licence: 'Public domain painting; file from OpenCV samples (Apache-2.0)',
    source: 'Debian opencv-doc 4.6.0 examples/data/starry_night.jpg',
  },
  scream: {
    file: 'scream.jpg',
    width: 201,
    height: 256,
    channels: 3,
    description: 'Edvard Munch, The Scream (1893)',
    licence: 'Public domain painting; file from darknet data (GPL-3+/MIT/WTFPL)',
    source: 'Debian darknet data/scream.jpg',
  },
};
const FASHION_ITEMS: [string, string][] = [
  ['tshirt', 'T-shirt/top'],
  ['trouser', 'Trouser'],
  ['pullover', 'Pullover'],
  ['dress', 'Dress'],
  ['coat', 'Coat'],
  ['sandal', 'Sandal'],
  ['shirt', 'Shirt'],
  ['sneaker', 'Sneaker'],
  ['bag', 'Bag'],
  ['ankle-boot', 'Ankle boot'],
];
for (const [slug, label] of FASHION_ITEMS) {
  imageCatalog[`fashion-${slug}`] = {
    file: `fashion-${slug}.png`,
    description: `Fashion-MNIST test item of class '${label}' (the first of its class in t10k)`,
    ...FASHION,
  };
}

interface Decoded {
  width: number;
  height: number;
  /** RGBA, 8 bit. */
  data: Uint8Array;
}

async function decodeNode(bytes: Uint8Array, file: string): Promise<Decoded> {
  if (file.endsWith('.png')) {
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(Buffer.from(bytes));
    return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
  }
  let data = new Uint8Array(0);
  const { width, height } = decodeJpegRows(bytes, { what: file }, (w, h) => {
    data = new Uint8Array(w * h * 4).fill(255);
    return (rgb, y) => {
      for (let x = 0, o = y * w * 4; x < w; x++, o += 4) {
        data[o] = rgb[3 * x];
        data[o + 1] = rgb[3 * x + 1];
        data[o + 2] = rgb[3 * x + 2];
      }
    };
  });
  return { width, height, data };
}

async function decodeBrowser(bytes: Uint8Array, file: string): Promise<Decoded> {
  const type = file.endsWith('.png') ? 'image/png' : 'image/jpeg';
  const bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  return { width: bitmap.width, height: bitmap.height, data: new Uint8Array(data.buffer) };
}

/** Options of `images.load`. */
export interface LoadImageOptions {
  /** 3 (RGB; gray images are replicated) or 1 (luma). Default: the catalogue's `channels`. */
  channels?: 1 | 3;
}

/**
 * A bundled image as a float32 `[H, W, C]` tensor with values in 0..1 (the caller disposes it).
 * Names: `images.list()`. Node decodes with pngjs (imported on first use) and core's JPEG decoder,
 * browsers with createImageBitmap.
 */
async function load(name: string, options: LoadImageOptions = {}): Promise<tf.Tensor3D> {
  const names = Object.keys(imageCatalog);
  check(
    typeof name === 'string' && name in imageCatalog,
    'BAD_INPUT',
    () =>
      `unknown image "${String(name)}"; bundled images: ${names.join(', ')} (close: ${closestNames(String(name), names, 3).join(', ')})`,
  );
  const entry = imageCatalog[name];
  const channels = options.channels ?? entry.channels;
  check(channels === 1 || channels === 3, 'BAD_OPTION', `channels must be 1 or 3, got ${String(channels)}`);
  const bytes = await readAsset(`images/${entry.file}`);
  // Bundled files are ours, but they are still checked as any image is, before a pixel buffer exists.
  const header = readImageHeader(bytes, entry.file);
  check(header !== undefined, 'BAD_IMAGE', `bundled image ${entry.file} is not a PNG or JPEG`);
  checkImageSize(header, DEFAULT_MAX_PIXELS, entry.file);
  const isNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
    'string';
  let img: Decoded;
  try {
    img = isNode ? await decodeNode(bytes, entry.file) : await decodeBrowser(bytes, entry.file);
  } catch (e) {
    throw new CnnvizError('BAD_IMAGE', `cannot decode bundled image ${entry.file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const n = img.width * img.height;
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = img.data[4 * i];
    const g = img.data[4 * i + 1];
    const b = img.data[4 * i + 2];
    if (channels === 3) {
      out[3 * i] = r / 255;
      out[3 * i + 1] = g / 255;
      out[3 * i + 2] = b / 255;
    } else {
      out[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    }
  }
  return tf.tensor3d(out, [img.height, img.width, channels]);
}

/** Names of the bundled images. */
function list(): string[] {
  return Object.keys(imageCatalog);
}

/** The bundled real images: CC0 / public-domain photos, textures and paintings, and Fashion-MNIST items. */
export const images = { load, list, catalog: imageCatalog };
