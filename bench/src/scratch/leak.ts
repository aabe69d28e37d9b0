import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '../../../packages/core/src/kernels/index.js';
tf.env().set('PROD', true);
await tf.setBackend('wasm');
registerKernelFixes('wasm');
for (const [s, pad] of [[1, 'same'], [2, 'same'], [2, 'valid'], [1, 'valid']] as const) {
  const dy = tf.ones(tf.backend_util.computeConv2DInfo([1, 8, 8, 4], [3, 3, 4, 1], s, 1, pad, undefined, true).outShape);
  const w = tf.ones([3, 3, 4, 1]);
  const be = tf.backend().numDataIds();
  try {
    const r = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { strides: [s, s], pad, dilations: 1, inputShape: [1, 8, 8, 4] } as any) as tf.Tensor;
    console.log(s, pad, 'ok', tf.backend().numDataIds() - be); r.dispose();
    const r2 = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { strides: [s, s], pad, dilations: 1, inputShape: [1, 8, 8, 4] } as any) as tf.Tensor;
    console.log(s, pad, 'ok2', tf.backend().numDataIds() - be); r2.dispose();
  } catch (e) { console.log(s, pad, String(e).slice(0, 100)); }
}
