import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@cnnviz/node';
import { zoo, images } from '@cnnviz/models';
import { resize } from '@cnnviz/core';
import { saliency, integratedGradients } from '@cnnviz/attribution';

const size = Number(process.argv[2] ?? 96);
const model = await zoo.mobilenetV2Features({ inputSize: size });
const cat = await images.load('chelsea');
const img = resize(cat, [size, size]);
await initBackend({ backend: 'wasm' });
const a = await saliency(model, img, { target: 263 });
const wasmRaw = await a.raw.data();
await tf.setBackend('cpu');
const b = await saliency(model, img, { target: 263 });
const cpuRaw = await b.raw.data();
let maxDiff = 0, maxAbs = 0;
for (let i = 0; i < cpuRaw.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(cpuRaw[i] - wasmRaw[i])); maxAbs = Math.max(maxAbs, Math.abs(cpuRaw[i])); }
console.log('saliency wasm vs cpu: max diff', maxDiff, 'max |g|', maxAbs);
for (const steps of [64, 256]) {
  const r = await integratedGradients(model, img, { target: 263, steps, method: 'riemann_trapezoid' });
  console.log('cpu IG', steps, 'error', r.completenessError, 'delta', r.delta[0]);
  r.dispose();
}
