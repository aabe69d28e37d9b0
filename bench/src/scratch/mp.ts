import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
const x = [-3, -1, -2, -4, 1, -5, -6, -7, -0.5, -9, -8, 2, -1, -1, -1, -1];
async function on(b: string) {
  await tf.setBackend(b);
  const xt = tf.tensor4d(x, [1, 4, 4, 1]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(xt);
  console.log(b, Array.from(g.dataSync()));
  const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 3, 1, 'same')))(xt);
  console.log(b, Array.from(g2.dataSync()));
}
await on('cpu'); await on('wasm');
