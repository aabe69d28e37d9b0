/**
 * Trains zoo.fashionCnn on the full Fashion-MNIST training set (60k) and writes
 *   packages/models/assets/fashion-cnn/{model.json, weights.bin, train-fashion.log}
 *   packages/models/assets/fashion-mnist-test-1k/{images-idx3-ubyte.gz, labels-idx1-ubyte.gz}
 *   packages/models/assets/images/fashion-*.png (one test image per class)
 *
 * Run: `npm run train:fashion` (root). Deterministic: seeded initialisers and a seeded shuffle on the
 * single-threaded wasm backend. Env: EPOCHS (default 5), BATCH (64), LIMIT (train images, default
 * all), BACKEND (wasm; cpu works but is ~10x slower), FASHION_MNIST_DIR (folder with the idx.gz files;
 * see fashion-data.ts).
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdirSync, writeFileSync, appendFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { FASHION_LABELS as LABELS } from '../src/datasets.js';
import { findFashionMnistDir, loadFashionMnist, type IdxSet } from './fashion-data.js';

const here = dirname(fileURLToPath(import.meta.url));
const assets = join(here, '..', 'assets');
const outDir = join(assets, 'fashion-cnn');
const subsetDir = join(assets, 'fashion-mnist-test-1k');
const imagesDir = join(assets, 'images');
const logPath = join(outDir, 'train-fashion.log');

const EPOCHS = Number(process.env.EPOCHS ?? 6);
const BATCH = Number(process.env.BATCH ?? 64);
const LIMIT = Number(process.env.LIMIT ?? 0);
const SEED = 20240601;
const LR_SCHEDULE = '2e-3 for epochs 1-2, 1e-3, then 3e-4 and 1e-4 for the last two';
function learningRate(epoch: number): number {
  if (epoch === EPOCHS && EPOCHS >= 3) return 1e-4;
  if (epoch === EPOCHS - 1 && EPOCHS >= 3) return 3e-4;
  return epoch <= 2 ? 2e-3 : 1e-3;
}
const BACKEND = process.env.BACKEND ?? 'wasm';

mkdirSync(outDir, { recursive: true });
writeFileSync(logPath, '');
function log(msg: string): void {
  const line = `[${new Date().toISOString()}] ${msg}`;
  console.log(line);
  appendFileSync(logPath, line + '\n');
}

/**
 * 3x3 'same' stride-1 convolution whose gradients use only forward convolutions, which are fast on
 * every backend (XNNPACK on wasm): dx is a convolution of dy with the flipped, transposed filter; dW
 * is one 'valid' convolution of the padded input, batch and channels swapped, with dy as the filter
 * (dW[ky,kx,ci,co] = sum_{n,y,x} xp[n,y+ky,x+kx,ci] dy[n,y,x,co]). Stock TF.js computes dW with a very
 * slow loop on cpu and has no wasm kernel for it; on wasm, im2col matMuls with transposeA were 3-6x slower.
 */
const conv3x3 = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.conv2d(x, w, 1, 'same'),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor4D;
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const wT = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = tf.conv2d(g, wT, 1, 'same');
      const xpT = tf.transpose(
        tf.pad(xs, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
        [3, 1, 2, 0],
      ) as tf.Tensor4D; // [ci, H+2, W+2, n]
      const gT = tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, n, co]
      const dw = tf.transpose(tf.conv2d(xpT, gT, 1, 'valid'), [1, 2, 0, 3]); // [3, 3, ci, co]
      return [dx, dw];
    },
  };
});

/** conv3x3's gradients against TF.js's own (stock kernels on cpu), on a tiny case; throws on mismatch. */
function selfCheck(): number {
  return tf.tidy(() => {
    const x = tf.randomNormal([2, 5, 6, 3], 0, 1, 'float32', 1);
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2);
    const r = tf.randomNormal([2, 5, 6, 4], 0, 1, 'float32', 3);
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv3x3(a, b), r)))([x, w]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), r)),
    )([x, w]);
    const err = Math.max(...ours.map((g, i) => tf.max(tf.abs(tf.sub(g, ref[i]))).dataSync()[0]));
    if (!(err < 1e-4)) throw new Error(`conv3x3 gradient differs from TF.js's by ${err}`);
    return err;
  });
}

/** The same function as the tfjs-layers model below, on its own variables, using conv3x3. */
function forward(vars: tf.Variable[], x: tf.Tensor4D): tf.Tensor2D {
  const [w1, b1, w2, b2, w3, b3, wd, bd, wl, bl] = vars;
  let h: tf.Tensor4D = x;
  for (const [w, b, pad] of [
    [w1, b1, 'valid'],
    [w2, b2, 'valid'],
    [w3, b3, 'same'],
  ] as const) {
    h = tf.maxPool(tf.relu(tf.add(conv3x3(h, w), b)) as tf.Tensor4D, 2, 2, pad);
  }
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  const d1 = tf.relu(tf.add(tf.matMul(flat, wd as tf.Tensor2D), bd)) as tf.Tensor2D;
  return tf.add(tf.matMul(d1, wl as tf.Tensor2D), bl) as tf.Tensor2D;
}

/** mulberry32: a tiny seeded generator, so the shuffle order is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function batchTensors(
  set: IdxSet,
  idx: ArrayLike<number>,
  start: number,
  end: number,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const n = end - start;
  const px = set.rows * set.cols;
  const xs = new Float32Array(n * px);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = idx[start + i];
    const src = set.images.subarray(k * px, (k + 1) * px);
    for (let p = 0; p < px; p++) xs[i * px + p] = src[p] / 255;
    ys[i] = set.labels[k];
  }
  return { x: tf.tensor4d(xs, [n, set.rows, set.cols, 1]), y: tf.tensor1d(ys, 'int32') };
}

function buildNet(): tfl.Sequential {
  const seed = (k: number) => tfl.initializers.glorotUniform({ seed: SEED + k });
  const conv = (name: string, filters: number, k: number, inputShape?: number[]) =>
    tfl.layers.conv2d({
      name,
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: seed(k),
      ...(inputShape ? { inputShape } : {}),
    });
  return tfl.sequential({
    name: 'fashion_cnn',
    layers: [
      conv('conv1', 16, 1, [28, 28, 1]),
      tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      conv('conv2', 32, 2),
      tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      conv('conv3', 64, 3),
      // 'same' keeps the 7th row/column: 7x7 -> 4x4.
      tfl.layers.maxPooling2d({ name: 'pool3', poolSize: 2, padding: 'same' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ name: 'dense1', units: 64, activation: 'relu', kernelInitializer: seed(4) }),
      tfl.layers.dense({ name: 'logits', units: 10, kernelInitializer: seed(5) }),
    ],
  });
}

function evaluate(net: tfl.LayersModel, set: IdxSet, count = set.count): { acc: number; perClass: number[] } {
  const idx = Array.from({ length: count }, (_, i) => i);
  let correct = 0;
  const hit = new Array<number>(10).fill(0);
  const tot = new Array<number>(10).fill(0);
  for (let s = 0; s < count; s += 500) {
    const e = Math.min(count, s + 500);
    const { x, y } = batchTensors(set, idx, s, e);
    const pred = tf.tidy(() => tf.argMax(net.predict(x) as tf.Tensor2D, 1));
    const p = pred.dataSync();
    const t = y.dataSync();
    for (let i = 0; i < p.length; i++) {
      tot[t[i]]++;
      if (p[i] === t[i]) {
        correct++;
        hit[t[i]]++;
      }
    }
    tf.dispose([x, y, pred]);
  }
  return { acc: correct / count, perClass: hit.map((h, i) => h / Math.max(1, tot[i])) };
}

function writeIdx(path: string, dims: number[], data: Uint8Array): void {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  writeFileSync(path, gzipSync(Buffer.concat([head, Buffer.from(data)]), { level: 9 }));
}

function writeGrayPng(path: string, pixels: Uint8Array, w: number, h: number): void {
  const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(pixels);
  writeFileSync(path, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}

function writeSubsets(test: IdxSet): void {
  mkdirSync(subsetDir, { recursive: true });
  mkdirSync(imagesDir, { recursive: true });
  const px = test.rows * test.cols;
  // The first 1000 test images: roughly 100 per class (exactly as in the official t10k order).
  writeIdx(
    join(subsetDir, 'images-idx3-ubyte.gz'),
    [1000, test.rows, test.cols],
    test.images.subarray(0, 1000 * px),
  );
  writeIdx(join(subsetDir, 'labels-idx1-ubyte.gz'), [1000], test.labels.subarray(0, 1000));
  const slugs = [
    'tshirt',
    'trouser',
    'pullover',
    'dress',
    'coat',
    'sandal',
    'shirt',
    'sneaker',
    'bag',
    'ankle-boot',
  ];
  for (let c = 0; c < 10; c++) {
    let k = 0;
    while (test.labels[k] !== c) k++;
    writeGrayPng(
      join(imagesDir, `fashion-${slugs[c]}.png`),
      test.images.subarray(k * px, (k + 1) * px),
      test.cols,
      test.rows,
    );
  }
}

async function save(net: tfl.Sequential): Promise<void> {
  // The saved model ends in an explicit softmax like a Keras classifier; cnnviz's adapter removes it.
  const full = tfl.sequential({
    name: 'fashion_cnn',
    layers: [...net.layers, tfl.layers.activation({ name: 'probs', activation: 'softmax' })],
  });
  await full.save(
    tf.io.withSaveHandler(async (art) => {
      const data = tf.io.CompositeArrayBuffer.join(art.weightData!);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
        convertedBy: 'cnnviz packages/models/scripts/train-fashion.ts',
        modelTopology: art.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
        userDefinedMetadata: { labels: LABELS, inputRange: [0, 1] },
      };
      writeFileSync(join(outDir, 'weights.bin.tmp'), Buffer.from(data));
      writeFileSync(join(outDir, 'model.json.tmp'), JSON.stringify(modelJson));
      renameSync(join(outDir, 'weights.bin.tmp'), join(outDir, 'weights.bin'));
      renameSync(join(outDir, 'model.json.tmp'), join(outDir, 'model.json'));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: data.byteLength,
        },
      };
    }),
  );
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const gradErr = selfCheck();
  await tf.setBackend(BACKEND);
  const dir = findFashionMnistDir();
  const train = loadFashionMnist(dir, 'train');
  const test = loadFashionMnist(dir, 't10k');
  const nTrain = LIMIT > 0 ? Math.min(LIMIT, train.count) : train.count;
  log(
    `tfjs ${tf.version_core}, backend ${tf.getBackend()}, conv gradients through conv3x3 (forward convolutions only; max deviation from stock TF.js gradients ${gradErr.toExponential(1)})`,
  );
  log(
    `data ${dir}: train ${train.count} (using ${nTrain}), test ${test.count}; epochs ${EPOCHS}, batch ${BATCH}, Adam (lr ${LR_SCHEDULE}), seed ${SEED}`,
  );
  writeSubsets(test);

  const net = buildNet();
  const params = net.countParams();
  log(`model: ${net.layers.map((l) => l.name).join(' > ')}; ${params} parameters`);
  const opt = tf.train.adam(1e-3);
  // Train the layers model's own variables (so `net.save` writes them) with our forward function.
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);

  const random = rng(SEED);
  const order = Array.from({ length: nTrain }, (_, i) => i);
  const t0 = Date.now();
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    // Step decay for the last two epochs: settles the weights (worth ~1 point of test accuracy).
    (opt as unknown as { learningRate: number }).learningRate = learningRate(epoch);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    let steps = 0;
    for (let s = 0; s < nTrain; s += BATCH) {
      const { x, y } = batchTensors(train, order, s, Math.min(nTrain, s + BATCH));
      const lossT = opt.minimize(
        () => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), forward(vars, x)) as tf.Scalar,
        true,
        vars,
      )!;
      lossSum += lossT.dataSync()[0];
      tf.dispose([x, y, lossT]);
      steps++;
      if (steps % 100 === 0) {
        log(
          `epoch ${epoch} step ${steps}/${Math.ceil(nTrain / BATCH)} loss ${(lossSum / steps).toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s, ${tf.memory().numTensors} tensors)`,
        );
      }
    }
    const ev = evaluate(net, test);
    log(
      `epoch ${epoch} done: train loss ${(lossSum / steps).toFixed(4)}, test accuracy (10k) ${(ev.acc * 100).toFixed(2)} %`,
    );
  }
  const full = evaluate(net, test);
  const sub = evaluate(net, test, 1000);
  log(
    `final test accuracy: 10k ${(full.acc * 100).toFixed(2)} %, first-1k subset ${(sub.acc * 100).toFixed(2)} %`,
  );
  log(`per class (10k): ${LABELS.map((l, i) => `${l} ${(full.perClass[i] * 100).toFixed(1)}`).join(', ')}`);
  await save(net);
  log(
    `wrote ${outDir}/model.json + weights.bin (${params * 4} bytes); total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

main().catch((e: unknown) => {
  log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
