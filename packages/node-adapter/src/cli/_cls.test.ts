import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { zoo } from '@cnnviz/models';
import { run, tileGrid } from '@cnnviz/core';
import { visualizeClass } from '@cnnviz/synthesis';
import { writePng } from '../image-io.js';
it('cls', async () => {
  await tf.setBackend('cpu');
  const m = await zoo.fashionCnn();
  const variants: Record<string, object> = {
    a: { steps: 150, l2: 1e-3, blurEvery: 8, blurSigma: 0.5, clipValue: 0.1, clipGradient: 0.1, jitter: 1 },
    b: { steps: 100, l2: 0.01, blurEvery: 4, blurSigma: 1, jitter: 1, lr: 0.05 },
    c: { steps: 100, param: 'fourier' },
    d: { steps: 100, param: 'fourier', transforms: 'none', l2: 0.01 },
    e: { steps: 200, l2: 0.02, blurEvery: 2, blurSigma: 0.6, jitter: 2, lr: 0.03 },
  };
  for (const [name, opts] of Object.entries(variants)) {
    const tiles = [];
    let correct = 0;
    for (let k = 0; k < 10; k++) {
      const last = await run(visualizeClass(m, { target: k, seed: k, ...opts } as any));
      const p = tf.argMax(m.forward(m.preprocess(last.image!)).logits, 1).dataSync()[0];
      if (p === k) correct++;
      tiles.push(tf.image.resizeNearestNeighbor(tf.tile(last.image!, [1, 1, 3]), [84, 84]) as tf.Tensor3D);
    }
    console.log(name, 'correct', correct);
    await writePng(`/tmp/cvx/${name}.png`, tileGrid(tiles, { cols: 10 }));
  }
}, 1200000);
