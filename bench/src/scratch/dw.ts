import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '../../../packages/core/src/kernels/index.js';
import { depthwiseBackpropInputOps } from '../../../packages/core/src/kernels/wasm-depthwise-backprop-input.js';
tf.env().set('PROD', true);
await tf.setBackend('wasm');
registerKernelFixes('wasm');
const cpu = (name: string, f: () => void, n = 30) => { for (let i = 0; i < 5; i++) f(); const ts: number[] = []; for (let i = 0; i < n; i++) { const c = process.cpuUsage(); f(); const d = process.cpuUsage(c); ts.push((d.user + d.system) / 1000); } ts.sort((a, b) => a - b); console.log(name, ts[n >> 1].toFixed(3), 'ms'); };
for (const [H, C] of [[113, 96], [57, 144], [29, 192], [15, 576]]) {
  const inShape = [1, H, H, C] as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inShape, [3, 3, C, 1], 2, 1, 'valid', undefined, true);
  const dy = tf.randomNormal(info.outShape) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, C, 1]) as tf.Tensor4D;
  const x = tf.randomNormal(inShape) as tf.Tensor4D;
  console.log(H, C);
  cpu(' fwd', () => tf.depthwiseConv2d(x, w, 2, 'valid').dispose());
  cpu(' subpixel', () => (tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { strides: [2, 2], pad: 'valid', dilations: 1, inputShape: inShape } as any) as tf.Tensor).dispose());
  const wf = tf.reverse(w, [0, 1]);
  cpu(' dilated', () => tf.tidy(() => { depthwiseBackpropInputOps(dy, w, info); }));
}
import { dilateSpatial, transposedConvInput } from '../../../packages/core/src/kernels/conv-ops.js';
{
  const inShape = [1, 113, 113, 96] as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inShape, [3, 3, 96, 1], 2, 1, 'valid', undefined, true);
  const dy = tf.randomNormal(info.outShape) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 96, 1]) as tf.Tensor4D;
  cpu('dilate only', () => tf.tidy(() => { dilateSpatial(dy, 2, 2); }));
  cpu('prepare', () => tf.tidy(() => { transposedConvInput(dy, info); }));
  const p = transposedConvInput(dy, info);
  cpu('dw on prepared', () => tf.depthwiseConv2d(p, w, 1, 'valid').dispose());
}
