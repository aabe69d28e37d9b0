import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes, unregisterKernelFixes } from '../../../packages/core/src/kernels/index.js';
await tf.setBackend('cpu');
const x = tf.relu(tf.randomNormal([64, 28, 28, 16])) as tf.Tensor4D;
const dy = tf.randomNormal([64, 28, 28, 32]) as tf.Tensor4D;
const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 32] } as any) as tf.Tensor;
for (const mode of ['stock', 'fix']) {
  if (mode === 'fix') registerKernelFixes('cpu'); else unregisterKernelFixes('cpu');
  const t0 = performance.now(); const r = run(); r.dataSync(); console.log(mode, (performance.now() - t0).toFixed(0), 'ms');
  r.dispose();
}
