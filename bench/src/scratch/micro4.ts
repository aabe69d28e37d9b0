import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
tf.env().set('PROD', true);
await tf.setBackend('wasm');
const t = (name: string, f: () => tf.Tensor) => { f().dispose(); const ts = []; for (let i = 0; i < 9; i++) { const s = performance.now(); const r = f(); ts.push(performance.now() - s); r.dispose(); } ts.sort((a, b) => a - b); console.log(name, ts.map((x) => x.toFixed(1)).join(' ')); };
for (const [H, ci, co] of [[14, 64, 384], [56, 144, 24], [7, 1280, 320]]) {
  const x = tf.randomNormal([1, H, H, ci]) as tf.Tensor4D;
  const w = tf.randomNormal([1, 1, ci, co]) as tf.Tensor4D;
  console.log(H, ci, co);
  t(' same filter', () => tf.conv2d(x, w, 1, 'same'));
  t(' fresh filter', () => tf.tidy(() => tf.conv2d(x, tf.add(w, 0) as tf.Tensor4D, 1, 'same')));
  t(' matmul', () => tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [H * H, ci]), tf.reshape(w, [ci, co])), [1, H, H, co])));
  t(' matmul tB', () => tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [H * H, ci]), tf.reshape(w, [co, ci]), false, true), [1, H, H, co])));
}
