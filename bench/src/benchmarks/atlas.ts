/**
 * Activation Atlas (issue 20's target: 20 x 20 from 100,000 activations at MobileNetV2 `block_13_expand_relu` in
 * at most 15 min on 2 cores): sampleActivations -> PCA to 50 -> Barnes–Hut t-SNE -> activationAtlas, the pipeline of
 * `cnnviz atlas`. No stock TF.js or reference tool makes an atlas, so there is no comparison row. The images are the
 * bundled Fashion-MNIST test images tiled to RGB at 224 px (the only data set bundled); `ATLAS_N` sets the number of
 * activations (default 100,000: 1,000 images x 100 of the 196 positions). Each stage's time goes to stderr;
 * `ATLAS_PNG=<path>` writes the atlas.
 */
import * as tf from '@tensorflow/tfjs-core';
import { datasets, zoo } from '@cnnviz/models';
import { pca, tsne } from '@cnnviz/embedding';
import { writePng } from '@cnnviz/node';
import { activationAtlas, sampleActivations } from '@cnnviz/synthesis';
import type { Benchmark } from '../harness.js';

const LAYER = 'block_13_expand_relu';

export const atlas: Benchmark = {
  name: 'atlas',
  suite: 'synthesis',
  description: `Activation Atlas, MobileNetV2 ${LAYER}: sample activations of Fashion-MNIST images at 224 px, PCA 50, t-SNE, 20 x 20 grid of 64 px icons, 128 Adam steps, all cells in one batch.`,
  targets: { medianMs: 15 * 60 * 1000 },
  cnnviz: {
    label: 'cnnviz activationAtlas (wasm + fixes)',
    backend: 'wasm',
    fixes: true,
    warmup: 0,
    iterations: 1,
    setup: async ({ quick }) => {
      const n = quick ? 2000 : Number(process.env.ATLAS_N ?? 100_000);
      const grid = quick ? 6 : 20;
      const steps = quick ? 4 : 128;
      const size = quick ? 32 : 64;
      const model = await zoo.mobilenetV2Features({ inputSize: 224 });
      // The same weights built for the icons' size, as `cnnviz atlas` does.
      const iconModel = await zoo.mobilenetV2Features({ inputSize: size });
      const data = await datasets.fashionMnistTest1k();
      const count = data.images.shape[0];
      const perImage = Math.ceil(n / count);
      const images = tf.tidy(() =>
        tf.image.resizeBilinear(tf.tile(data.images, [1, 1, 1, 3]) as tf.Tensor4D, [224, 224], false, true),
      );
      data.dispose();
      return async () => {
        const log = (what: string, t0: number) =>
          console.error(`atlas ${what}: ${Math.round(performance.now() - t0)} ms`);
        let t = performance.now();
        const s = await sampleActivations(model, images, { layer: LAYER, perImage, seed: 1, batchSize: 25 });
        const acts = s.activations.slice(0, n);
        log(`sampleActivations (${acts.length} x ${acts[0].length})`, t);
        t = performance.now();
        const p = await pca(acts, { components: 50, seed: 1 });
        log('pca', t);
        t = performance.now();
        const coords = await tsne(p.projected, { perplexity: 30, iterations: 1000, seed: 1 });
        log('tsne', t);
        t = performance.now();
        const r = await activationAtlas(iconModel, {
          layer: LAYER,
          activations: acts,
          coords,
          grid,
          minCount: 3,
          size,
          steps,
          seed: 1,
        });
        log(`activationAtlas (${r.cells.length} cells)`, t);
        // ATLAS_PNG=path keeps the picture, to look at beside the Distill article's figure.
        if (process.env.ATLAS_PNG) await writePng(process.env.ATLAS_PNG, r.image);
        r.dispose();
      };
    },
  },
  stock: [],
};
