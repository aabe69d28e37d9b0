import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@cnnviz/node';
import { zoo, images } from '@cnnviz/models';
import { resize } from '@cnnviz/core';
import { integratedGradients } from '@cnnviz/attribution';

await initBackend({ backend: 'wasm' });
const model = await zoo.mobilenetV2Features({ inputSize: 96 });
const cat = await images.load('chelsea');
const img = tf.tidy(() => resize(cat, [96, 96]));
for (const [steps, method] of [[16, 'gausslegendre'], [16, 'riemann_trapezoid'], [64, 'gausslegendre'], [64, 'riemann_trapezoid'], [256, 'riemann_trapezoid']] as const) {
  const r = await integratedGradients(model, img, { target: 1097, steps, method, internalBatchSize: 16 });
  const sum = tf.sum(r.raw).dataSync()[0];
  console.log(steps, method, 'err', r.completenessError.toFixed(4), 'sum', sum.toFixed(4), 'delta', r.delta[0].toFixed(4), 'change', (sum - r.delta[0]).toFixed(4));
  r.dispose();
}
