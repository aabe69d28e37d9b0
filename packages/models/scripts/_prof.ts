import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
await tf.setBackend('cpu');
const core = await import('/work/main/packages/core/src/index.ts') as any;
if (process.env.FIX) console.log(core.registerKernelFixes?.('cpu'));
function time(name: string, f: () => tf.Tensor) { f().dispose(); const t=Date.now(); for (let i=0;i<3;i++) f().dispose(); console.log(name, ((Date.now()-t)/3).toFixed(0),'ms'); }
for (const [h,ci,co] of [[28,1,16],[14,16,32],[7,32,32]]) {
  const x = tf.randomNormal([64,h,h,ci]) as tf.Tensor4D; const w = tf.randomNormal([3,3,ci,co]) as tf.Tensor4D; const dy = tf.randomNormal([64,h,h,co]) as tf.Tensor4D;
  time(`fwd ${h}x${ci}->${co}`, () => tf.conv2d(x,w,1,'same'));
  time(`bpInput`, () => tf.conv2dTranspose(dy,w,[64,h,h,ci],1,'same'));
  time(`bpFilter`, () => tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {strides:[1,1], pad:'same', dataFormat:'NHWC', filterShape:[3,3,ci,co]} as any) as tf.Tensor);
  const p = tf.maxPool(dy, 2, 2, 'valid');
  time('maxpool', () => tf.maxPool(dy,2,2,'valid'));
}
