/**
 * Fashion-MNIST idx files for the training script (Node only). The data come from Debian's
 * `dataset-fashion-mnist` (Zalando SE, MIT licence), which installs or extracts to
 * `usr/share/datasets/fashion-mnist/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface IdxSet {
  /** uint8 pixels, `count * rows * cols`. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

const CANDIDATES = [
  process.env.FASHION_MNIST_DIR,
  '/usr/share/datasets/fashion-mnist',
  '/tmp/fm/usr/share/datasets/fashion-mnist',
  '/tmp/dl/x/usr/share/datasets/fashion-mnist',
].filter((d): d is string => typeof d === 'string' && d.length > 0);

/** The first directory holding the four idx.gz files, or an error telling how to get them. */
export function findFashionMnistDir(): string {
  for (const dir of CANDIDATES) {
    if (existsSync(join(dir, 'train-images-idx3-ubyte.gz'))) return dir;
  }
  throw new Error(
    `Fashion-MNIST not found in ${CANDIDATES.join(', ')}. Get it with:\n` +
      '  cd /tmp && apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb fm/\n' +
      'or set FASHION_MNIST_DIR to a folder with the *-idx?-ubyte.gz files.',
  );
}

function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let buf = readFileSync(path);
  if (path.endsWith('.gz')) buf = gunzipSync(buf);
  const magic = buf.readUInt32BE(0);
  // idx magic: two zero bytes, type 0x08 (uint8), number of dimensions.
  if (magic >> 8 !== 0x08) throw new Error(`${path}: not a uint8 idx file (magic ${magic.toString(16)})`);
  const nd = magic & 0xff;
  const dims = Array.from({ length: nd }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * nd;
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, buf.length - offset) };
}

/** Reads `train` (60k) or `t10k` (10k) images and labels. */
export function loadFashionMnist(dir: string, split: 'train' | 't10k'): IdxSet {
  const img = readIdx(join(dir, `${split}-images-idx3-ubyte.gz`));
  const lab = readIdx(join(dir, `${split}-labels-idx1-ubyte.gz`));
  const [count, rows, cols] = img.dims;
  if (lab.dims[0] !== count) throw new Error(`${split}: ${count} images but ${lab.dims[0]} labels`);
  return { images: img.data, labels: lab.data, count, rows, cols };
}
