import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '../../../packages/core/src/kernels/index.js';
import { mobilenetV2 } from '../benchmarks/mobilenet-v2.js';
tf.env().set('IS_TEST', true);
await tf.setBackend('wasm');
registerKernelFixes('wasm');
const step = await mobilenetV2.cnnviz.setup();
step(); step();
let t0 = performance.now(); step(); console.log('step', performance.now() - t0);
t0 = performance.now();
const info = await tf.profile(() => { step(); });
console.log('total', performance.now() - t0);
const agg: Record<string, [number, number]> = {};
for (const k of info.kernels) { const a = (agg[k.name] ??= [0, 0]); a[0] += k.kernelTimeMs as number; a[1]++; }
console.log(Object.entries(agg).sort((a, b) => b[1][0] - a[1][0]).slice(0, 20));
