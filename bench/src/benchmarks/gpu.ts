/**
 * The GPU entry: attribution on a hardware GPU through WebGPU in Node (Dawn), as `@cnnviz/node` starts it with its
 * WebGPU kernels. Runs only where Dawn finds a hardware adapter; run.ts skips it, and says so, elsewhere. (On a GPU
 * machine without Node, bench/gpu/ packs src/gpu-entry.ts with Node and Dawn instead: see bench/gpu/README.md.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { resize } from '@cnnviz/core';
import { images, zoo } from '@cnnviz/models';
import { saliency, smoothGrad } from '@cnnviz/attribution';
import type { Benchmark, Variant } from '../harness.js';

const TARGET = 263;

function onGpu(technique: 'saliency' | 'smoothGrad'): Variant {
  return {
    label: `cnnviz ${technique} (webgpu, Dawn + cnnviz kernels)`,
    backend: 'webgpu',
    fixes: true,
    warmup: 2,
    iterations: 5,
    setup: async ({ quick }) => {
      const model = await zoo.mobilenetV2Features({ inputSize: 224 });
      const cat = await images.load('chelsea', { channels: 3 });
      const image = resize(cat, [224, 224]);
      cat.dispose();
      return async () => {
        const r =
          technique === 'saliency'
            ? await saliency(model, image, { target: TARGET })
            : await smoothGrad(model, image, { target: TARGET, samples: quick ? 4 : 50 });
        await (r.map as tf.Tensor).data();
        r.dispose();
      };
    },
  };
}

export const GPU: Benchmark[] = [
  {
    name: 'gpu-saliency',
    suite: 'gpu',
    needs: 'gpu',
    description: 'saliency on MobileNetV2 224 px on a hardware GPU (WebGPU through Dawn).',
    cnnviz: onGpu('saliency'),
    extras: [onGpu('smoothGrad')],
    stock: [],
    reference: { label: 'PyTorch CUDA on an H200 (shared GPU.md)', msLow: 9.9, msHigh: 9.9 },
  },
];
