import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { run, type VisionModel } from '@cnnviz/core';
import { fromLayersModel } from '@cnnviz/models';
import { gradCam, integratedGradients, occlusion } from '@cnnviz/attribution';
import { applyStyleNetwork, buildStyleNetwork, deepDream, visualizeUnit } from '@cnnviz/synthesis';
import { knn, tsne } from '@cnnviz/embedding';
import { buildMobileNetV2 } from './mobilenet-v2.js';
import { memoryCheck, readAndDispose, rows, scaledNote, timeIt } from './timing.js';

// The rows of issue 21's GPU table beyond saliency / SmoothGrad / style (those stay in gpu-entry.ts): each as the
// library call, and as the code a TF.js user writes without cnnviz ("stock": tfjs-layers + tf.grad + tf.train,
// naive loops), on the same random-weight MobileNetV2. bench/gpu/torch_ref.py times the PyTorch side.

export interface RowConfig {
  quick: boolean;
  size: number;
  reps: number;
  igSteps: number;
  stockIgSteps: number;
  occlusionWindow: number;
  occlusionStride: number;
  stockWindows: number;
  dreamOctaves: number;
  dreamSteps: number;
  fvSize: number;
  fvSteps: number;
  stockFvSteps: number;
  fastStyleSize: number;
  tsneN: number;
  tsneDims: number;
  tsneIterations: number;
  stockTsneIterations: number;
  knnN: number;
  knnD: number;
  knnK: number;
  skipStock: boolean;
}

const TARGET = 3;
export const DREAM_LAYER = 'block_13_expand_relu';
export const FV_LAYER = 'block_13_expand_relu';
export const FV_CHANNEL = 42;

function stockLogit(model: tfl.LayersModel, x: tf.Tensor, onehot: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(model.apply(x) as tf.Tensor, onehot));
}

/** Integrated gradients (50 steps, black baseline). Stock: one gradient per step, a loop. */
export async function benchIg(cfg: RowConfig) {
  const s = cfg.size;
  const spec = buildMobileNetV2(s, 1000);
  const lib = fromLayersModel(spec.model);
  const img3 = tf.randomUniform([s, s, 3], 0, 1, 'float32', 5) as tf.Tensor3D;
  const img4 = tf.expandDims(img3, 0) as tf.Tensor4D;
  const onehot = tf.oneHot(tf.tensor1d([TARGET], 'int32'), 1000);
  const before = tf.memory();
  const n = cfg.igSteps;
  const k = Math.min(n, cfg.stockIgSteps);
  if (!cfg.skipStock)
    await timeIt(
      'ig',
      'stock TF.js webgpu (loop of tf.grad)',
      async () => {
        let acc = tf.zeros([1, s, s, 3]);
        for (let i = 0; i < k; i++) {
          const next = tf.tidy(() => {
            const x = tf.mul(img4, (i + 0.5) / n);
            return tf.add(acc, tf.grad((a: tf.Tensor) => stockLogit(spec.model, a, onehot))(x));
          });
          acc.dispose();
          acc = next;
        }
        const map = tf.tidy(() => tf.sum(tf.mul(tf.div(acc, n), img4), -1));
        acc.dispose();
        await readAndDispose(map);
      },
      Math.max(1, Math.min(2, cfg.reps)),
      1,
      n / k,
      scaledNote(k, n, 'steps'),
    );
  await timeIt(
    'ig',
    'cnnviz integratedGradients()',
    async () => {
      const r = await integratedGradients(lib, img3, { target: TARGET, steps: n });
      await r.map.data();
      r.dispose();
    },
    Math.max(1, Math.min(5, cfg.reps)),
  );
  memoryCheck('ig', before);
  tf.dispose([img3, img4, onehot]);
  spec.model.dispose();
}

/** Occlusion, window 16 / stride 8. Stock: one forward pass and one read per window. */
export async function benchOcclusion(cfg: RowConfig) {
  const s = cfg.size;
  const spec = buildMobileNetV2(s, 1000);
  const lib = fromLayersModel(spec.model);
  const img3 = tf.randomUniform([s, s, 3], 0, 1, 'float32', 6) as tf.Tensor3D;
  const img4 = tf.expandDims(img3, 0) as tf.Tensor4D;
  const win = cfg.occlusionWindow;
  const stride = cfg.occlusionStride;
  const positions: [number, number][] = [];
  for (let y = 0; y + win <= s; y += stride)
    for (let x = 0; x + win <= s; x += stride) positions.push([y, x]);
  const before = tf.memory();
  const k = Math.min(positions.length, cfg.stockWindows);
  if (!cfg.skipStock)
    await timeIt(
      'occlusion',
      'stock TF.js webgpu (a forward pass per window)',
      async () => {
        const b = tf.tidy(() => tf.slice(spec.model.apply(img4) as tf.Tensor, [0, TARGET], [1, 1]));
        const base = (await b.data())[0];
        b.dispose();
        const drops: number[] = [];
        for (const [y, x] of positions.slice(0, k)) {
          const v = tf.tidy(() => {
            const mask = tf.pad(
              tf.zeros([win, win, 1]),
              [
                [y, s - y - win],
                [x, s - x - win],
                [0, 0],
              ],
              1,
            );
            return tf.slice(spec.model.apply(tf.mul(img4, mask)) as tf.Tensor, [0, TARGET], [1, 1]);
          });
          drops.push(base - (await v.data())[0]);
          v.dispose();
        }
      },
      1,
      1,
      positions.length / k,
      scaledNote(k, positions.length, 'windows'),
    );
  await timeIt(
    'occlusion',
    `cnnviz occlusion() (${positions.length} windows)`,
    async () => {
      const r = await occlusion(lib, img3, { target: TARGET, window: win, stride });
      await r.map.data();
      r.dispose();
    },
    Math.max(1, Math.min(3, cfg.reps)),
  );
  memoryCheck('occlusion', before);
  tf.dispose([img3, img4]);
  spec.model.dispose();
}

/** Grad-CAM at the last conv block (out_relu). Stock: a model to out_relu, the head applied by hand. */
export async function benchGradCam(cfg: RowConfig) {
  const s = cfg.size;
  const spec = buildMobileNetV2(s, 1000);
  const lib = fromLayersModel(spec.model);
  const img3 = tf.randomUniform([s, s, 3], 0, 1, 'float32', 7) as tf.Tensor3D;
  const img4 = tf.expandDims(img3, 0) as tf.Tensor4D;
  const onehot = tf.oneHot(tf.tensor1d([TARGET], 'int32'), 1000);
  const trunk = tfl.model({
    inputs: spec.model.inputs,
    outputs: spec.model.getLayer('out_relu').output as tfl.SymbolicTensor,
  });
  const dense = spec.model.getLayer(spec.dense);
  const before = tf.memory();
  if (!cfg.skipStock)
    await timeIt(
      'gradcam',
      'stock TF.js webgpu (tf.grad at out_relu)',
      async () => {
        const cam = tf.tidy(() => {
          const a = trunk.apply(img4) as tf.Tensor4D;
          const g = tf.grad((act: tf.Tensor) =>
            tf.sum(tf.mul(dense.apply(tf.mean(act, [1, 2])) as tf.Tensor, onehot)),
          )(a);
          const w = tf.mean(g, [1, 2], true);
          const m = tf.relu(tf.sum(tf.mul(a, w), -1, true)) as tf.Tensor4D;
          return tf.image.resizeBilinear(m, [s, s]);
        });
        await readAndDispose(cam);
      },
      cfg.reps,
      2,
    );
  await timeIt(
    'gradcam',
    'cnnviz gradCam()',
    async () => {
      const r = await gradCam(lib, img3, { target: TARGET, layer: 'out_relu' });
      await r.map.data();
      r.dispose();
    },
    cfg.reps,
    2,
  );
  memoryCheck('gradcam', before);
  tf.dispose([img3, img4, onehot]);
  spec.model.dispose();
}

/** DeepDream: octaves x steps of normalised gradient ascent on mean(act²) at block_13_expand_relu. */
export async function benchDeepDream(cfg: RowConfig) {
  const s = cfg.size;
  const spec = buildMobileNetV2(s, 1000);
  const lib = fromLayersModel(spec.model, { outputLayer: DREAM_LAYER });
  const img3 = tf.randomUniform([s, s, 3], 0, 1, 'float32', 8) as tf.Tensor3D;
  const feat = tfl.model({
    inputs: spec.model.inputs,
    outputs: spec.model.getLayer(DREAM_LAYER).output as tfl.SymbolicTensor,
  });
  const octaves = cfg.dreamOctaves;
  const steps = cfg.dreamSteps;
  const before = tf.memory();
  if (!cfg.skipStock)
    await timeIt(
      'deepdream',
      'stock TF.js webgpu (tf.grad loop, no jitter)',
      async () => {
        // A fixed-size input model: each octave is resized up to the model's size (tfjs-layers keeps the shape).
        let img = tf.expandDims(img3, 0) as tf.Tensor4D;
        for (let o = 0; o < octaves; o++) {
          const side = Math.round(s / 1.4 ** (octaves - 1 - o));
          for (let i = 0; i < steps; i++) {
            const next = tf.tidy(() => {
              const small = tf.image.resizeBilinear(img, [side, side]);
              const up = tf.image.resizeBilinear(small, [s, s]);
              const g = tf.grad((x: tf.Tensor) => tf.mean(tf.square(feat.apply(x) as tf.Tensor)))(up);
              const step = tf.div(g, tf.add(tf.mean(tf.abs(g)), 1e-8));
              return tf.clipByValue(tf.add(up, tf.mul(step, 0.01)), 0, 1) as tf.Tensor4D;
            });
            img.dispose();
            img = next;
          }
        }
        await readAndDispose(img);
      },
      1,
      0,
    );
  await timeIt(
    'deepdream',
    `cnnviz deepDream() (${octaves} octaves x ${steps} steps)`,
    async () => {
      const last = await run(deepDream(lib, img3, { layer: DREAM_LAYER, octaves, steps }));
      if (last.image !== undefined) await readAndDispose(last.image);
    },
    Math.max(1, Math.min(3, cfg.reps)),
  );
  memoryCheck('deepdream', before);
  img3.dispose();
  spec.model.dispose();
}

/** Feature visualisation of block_13_expand_relu:42 (Lucid's defaults in cnnviz). Stock: pixels + sigmoid + Adam. */
export async function benchFeatureVis(cfg: RowConfig) {
  const s = cfg.fvSize;
  const spec = buildMobileNetV2(s, 1000);
  const lib = fromLayersModel(spec.model, { outputLayer: FV_LAYER });
  const feat = tfl.model({
    inputs: spec.model.inputs,
    outputs: spec.model.getLayer(FV_LAYER).output as tfl.SymbolicTensor,
  });
  const n = cfg.fvSteps;
  const k = Math.min(n, cfg.stockFvSteps);
  const before = tf.memory();
  if (!cfg.skipStock)
    await timeIt(
      'featvis',
      'stock TF.js webgpu (pixels, sigmoid, tf.train.adam)',
      async () => {
        const init = tf.randomNormal([1, s, s, 3], 0, 0.01, 'float32', 9);
        const logit = tf.variable(init);
        init.dispose();
        const opt = tf.train.adam(0.05);
        for (let i = 0; i < k; i++) {
          opt.minimize(
            () =>
              tf.neg(
                tf.mean(
                  tf.slice(
                    feat.apply(tf.sigmoid(logit)) as tf.Tensor4D,
                    [0, 0, 0, FV_CHANNEL],
                    [-1, -1, -1, 1],
                  ),
                ),
              ) as tf.Scalar,
            false,
            [logit],
          );
        }
        await logit.data();
        logit.dispose();
        opt.dispose();
      },
      1,
      1,
      n / k,
      scaledNote(k, n, 'steps'),
    );
  // Compiles the shaders once (a short run), so the timed run is the steps alone.
  const warm = await run(visualizeUnit(lib, `${FV_LAYER}:${FV_CHANNEL}`, { steps: 2, size: s }));
  warm.image?.dispose();
  await timeIt(
    'featvis',
    `cnnviz visualizeUnit() (Fourier, decorrelated, transforms; ${n} steps)`,
    async () => {
      const last = await run(visualizeUnit(lib, `${FV_LAYER}:${FV_CHANNEL}`, { steps: n, size: s }));
      if (last.image !== undefined) await readAndDispose(last.image);
    },
    1,
    0,
  );
  memoryCheck('featvis', before);
  spec.model.dispose();
}

/** Feed-forward style network (Johnson et al.: width 32, 5 residual blocks) on one image. */
export async function benchFastStyle(cfg: RowConfig) {
  const s = cfg.fastStyleSize;
  const net = buildStyleNetwork({ width: 32, residualBlocks: 5 });
  const img3 = tf.randomUniform([s, s, 3], 0, 1, 'float32', 10) as tf.Tensor3D;
  const img4 = tf.expandDims(img3, 0);
  const before = tf.memory();
  if (!cfg.skipStock)
    await timeIt(
      'faststyle',
      'stock TF.js webgpu (tfjs-layers predict)',
      () => readAndDispose(net.predict(img4) as tf.Tensor),
      cfg.reps,
      2,
    );
  await timeIt(
    'faststyle',
    'cnnviz applyStyleNetwork()',
    () => readAndDispose(applyStyleNetwork(net, img3)),
    cfg.reps,
    2,
  );
  memoryCheck('faststyle', before);
  tf.dispose([img3, img4]);
  net.dispose();
}

/** Gaussian clusters, n x d, seeded (the same data for every implementation of a row). */
function clusters(n: number, d: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const centres = tf.randomNormal([10, d], 0, 4, 'float32', seed);
    const labels = tf.randomUniform([n], 0, 10, 'int32', seed + 1);
    return tf.add(
      tf.gather(centres, labels),
      tf.randomNormal([n, d], 0, 1, 'float32', seed + 2),
    ) as tf.Tensor2D;
  });
}

/**
 * Exact t-SNE in tf ops, what a TF.js user writes (TF.js has no t-SNE): P by a vectorised bisection on each row's
 * precision (perplexity 30), then gradient steps with early exaggeration and momentum. `iterations` of them.
 */
async function stockTsne(x: tf.Tensor2D, iterations: number): Promise<{ pMs: number; itMs: number }> {
  const n = x.shape[0];
  const t0 = performance.now();
  // Every intermediate of a 10k-point step is a 400 MB n x n matrix: each bisection step frees its own.
  const [D, offDiag] = tf.tidy(() => {
    const sq = tf.sum(tf.square(x), 1, true);
    return [
      tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(x, x, false, true)))),
      tf.sub(1, tf.eye(n)),
    ];
  });
  let lo = tf.fill([n, 1], 0);
  let hi = tf.fill([n, 1], 1e4);
  let beta = tf.fill([n, 1], 1);
  const target = Math.log(30);
  for (let i = 0; i < 40; i++) {
    const next = tf.tidy(() => {
      const Pc = tf.mul(tf.exp(tf.neg(tf.mul(D, beta))), offDiag);
      const sumP = tf.add(tf.sum(Pc, 1, true), 1e-12);
      const H = tf.add(tf.log(sumP), tf.div(tf.mul(beta, tf.sum(tf.mul(D, Pc), 1, true)), sumP));
      const tooFlat = tf.greater(H, target);
      const l = tf.where(tooFlat, beta, lo);
      const h = tf.where(tooFlat, hi, beta);
      return [l, h, tf.div(tf.add(l, h), 2)];
    });
    tf.dispose([lo, hi, beta]);
    [lo, hi, beta] = next;
  }
  const P = tf.tidy(() => {
    const Pc = tf.mul(tf.exp(tf.neg(tf.mul(D, beta))), offDiag);
    const Pr = tf.div(Pc, tf.sum(Pc, 1, true));
    return tf.div(tf.add(Pr, tf.transpose(Pr)), 2 * n);
  });
  tf.dispose([D, lo, hi, beta]);
  await P.data();
  const t1 = performance.now();
  let Y = tf.randomNormal([n, 2], 0, 1e-4, 'float32', 11);
  let V = tf.zerosLike(Y);
  const lr = Math.max(n / 12 / 4, 50);
  for (let i = 0; i < iterations; i++) {
    const [Y2, V2] = tf.tidy(() => {
      const exag = i < 250 ? 12 : 1;
      const sq = tf.sum(tf.square(Y), 1, true);
      const num = tf.mul(
        tf.div(1, tf.add(1, tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(Y, Y, false, true))))),
        offDiag,
      );
      const Q = tf.div(num, tf.sum(num));
      const W = tf.mul(tf.sub(tf.mul(P, exag), Q), num);
      const grad = tf.mul(4, tf.sub(tf.mul(tf.sum(W, 1, true), Y), tf.matMul(W, Y)));
      const v = tf.sub(tf.mul(V, i < 250 ? 0.5 : 0.8), tf.mul(grad, lr));
      return [tf.add(Y, v), v];
    });
    Y.dispose();
    V.dispose();
    Y = Y2;
    V = V2;
  }
  await Y.data();
  tf.dispose([P, Y, V, offDiag]);
  return { pMs: t1 - t0, itMs: performance.now() - t1 };
}

/** t-SNE of n points (d dims, 1000 iterations). cnnviz: Barnes–Hut on the CPU threads; stock: exact, in tf ops. */
export async function benchTsne(cfg: RowConfig) {
  const x = clusters(cfg.tsneN, cfg.tsneDims, 12);
  const n = cfg.tsneIterations;
  const k = Math.min(n, cfg.stockTsneIterations);
  const before = tf.memory();
  if (!cfg.skipStock) {
    // P once, and k of the n iterations scaled to n (they are alike); one untimed small run compiles the shaders.
    try {
      const small = tf.slice(x, [0, 0], [Math.min(64, cfg.tsneN), -1]) as tf.Tensor2D;
      await stockTsne(small, 2);
      small.dispose();
      const { pMs, itMs } = await stockTsne(x, k);
      const ms = pMs + (itMs * n) / k;
      rows.push({
        task: 'tsne',
        impl: 'stock TF.js webgpu (exact t-SNE in tf ops)',
        ms,
        runs: [Math.round(ms * 10) / 10],
        note:
          k < n
            ? `P ${pMs.toFixed(0)} ms + ${k} of ${n} iterations timed, scaled x${(n / k).toFixed(1)}`
            : undefined,
      });
      console.log(
        `  tsne        stock TF.js webgpu (exact t-SNE in tf ops)  ${ms.toFixed(1)} ms  (P ${pMs.toFixed(0)} ms, ${k} iterations ${itMs.toFixed(0)} ms)`,
      );
    } catch (e) {
      rows.push({
        task: 'tsne',
        impl: 'stock TF.js webgpu (exact t-SNE in tf ops)',
        ms: NaN,
        runs: [],
        note: `failed: ${(e as Error).message.split('\n')[0]}`,
      });
    }
  }
  await timeIt(
    'tsne',
    'cnnviz tsne() (Barnes-Hut, CPU threads; neighbours on the backend)',
    async () => {
      await tsne(x, { iterations: n });
    },
    1,
    0,
  );
  memoryCheck('tsne', before);
  x.dispose();
}

/** Exact kNN, k = 10, of every row of n x d among the others (self-join). */
export async function benchKnn(cfg: RowConfig) {
  const f = clusters(cfg.knnN, cfg.knnD, 13);
  const k = cfg.knnK;
  const before = tf.memory();
  if (!cfg.skipStock)
    await timeIt(
      'knn',
      'stock TF.js webgpu (blocked matMul + tf.topk)',
      async () => {
        const n = cfg.knnN;
        const sq = tf.tidy(() => tf.sum(tf.square(f), 1));
        const out: tf.Tensor[] = [];
        for (let start = 0; start < n; start += 1024) {
          const rows = Math.min(1024, n - start);
          out.push(
            tf.tidy(() => {
              const q = tf.slice(f, [start, 0], [rows, -1]);
              const d = tf.sub(
                tf.add(tf.expandDims(tf.slice(sq, [start], [rows]), 1), sq),
                tf.mul(2, tf.matMul(q, f, false, true)),
              );
              return tf.topk(tf.neg(d), k + 1).indices;
            }),
          );
        }
        await readAndDispose(out);
        sq.dispose();
      },
      Math.max(1, Math.min(3, cfg.reps)),
    );
  await timeIt(
    'knn',
    'cnnviz knn() (tiles on the backend, exact re-rank)',
    async () => {
      await knn(f, f, { k, excludeSelf: true });
    },
    Math.max(1, Math.min(2, cfg.reps)),
    1,
  );
  memoryCheck('knn', before);
  f.dispose();
}

export type { VisionModel };
