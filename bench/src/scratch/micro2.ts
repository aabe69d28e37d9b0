import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '../../../packages/core/src/kernels/index.js';
tf.env().set('PROD', true);
await tf.setBackend('wasm');
const x = tf.randomNormal([1, 112, 112, 96]) as tf.Tensor4D;
const xp = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]);
const s6 = tf.scalar(6);
const b = tf.lessEqual(x, s6);
const time = (name: string, f: () => tf.Tensor) => { f().dispose(); const ts = []; for (let i = 0; i < 7; i++) { const t = performance.now(); const r = f(); ts.push(performance.now() - t); r.dispose(); } ts.sort((a, b) => a - b); console.log(name, ts[3].toFixed(2)); };
for (const mode of ['stock', 'fix']) {
  if (mode === 'fix') registerKernelFixes('wasm');
  console.log(mode);
  time('lessEqual scalar', () => tf.lessEqual(x, s6));
  time('cast bool->f', () => tf.cast(b, 'float32'));
  time('slice', () => tf.slice(xp, [0, 0, 0, 0], [1, 112, 112, 96]));
  time('slice2', () => tf.slice(xp, [0, 1, 1, 0], [1, 112, 112, 96]));
}
const want = tf.slice(xp, [0, 1, 0, 3], [1, 100, 112, 90]);
