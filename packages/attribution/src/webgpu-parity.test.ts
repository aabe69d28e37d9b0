import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { registerKernelFixes, unregisterKernelFixes, type VisionModel } from '@cnnviz/core';
import { fromLayersModel } from '@cnnviz/models';
import { relErr, webgpuRequirement } from '../../core/src/kernels/webgpu-test-setup.js';
import { describeNeeding } from '../../core/src/test-support/needs.js';
import { gradCam } from './grad-cam.js';
import { gradCamPlusPlus } from './grad-cam-plus-plus.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { integratedGradients } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { saliency } from './saliency.js';
import { smoothGrad } from './smooth-grad.js';
import { seeded } from './test-nets.js';

// Every attribution technique's map on webgpu (Dawn; lavapipe in CI) equals the cpu backend's, rel. err < 1e-3,
// through the real model adapter (fromLayersModel: conv, BN, ReLU6, depthwise, max-pool, dense), plus no leaks on
// webgpu over 100 calls. Skipped only where no WebGPU adapter can be created.

const gpu = await webgpuRequirement();

/** A MobileNet-like toy: conv-BN-ReLU6, depthwise stride 2, 1x1 conv, max-pool, dense; seeded weights. */
function toyModel(): tfl.LayersModel {
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [12, 12, 3],
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        name: 'conv1',
      }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.reLU({ maxValue: 6, name: 'relu1' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', name: 'dw2' }),
      tfl.layers.reLU({ name: 'relu2' }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', name: 'conv3' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool3' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: 5, name: 'logits' }),
    ],
  });
  let seed = 100;
  for (const layer of m.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const next = ws.map((w, i) => {
      // BN: gamma, beta, moving mean, moving variance (variance must stay positive).
      if (layer.name === 'bn1')
        return tf.add(tf.tensor(seeded(w.size, seed++, 0.3), w.shape), i === 0 || i === 3 ? 1 : 0);
      return tf.tensor(seeded(w.size, seed++, i === 0 ? 0.6 : 0.1), w.shape);
    });
    layer.setWeights(next);
    tf.dispose(next);
  }
  return m;
}

type Technique = (model: VisionModel, img: tf.Tensor3D) => Promise<{ map: tf.Tensor; dispose(): void }>;

const TECHNIQUES: Record<string, Technique> = {
  saliency: (m, img) => saliency(m, img, { target: 2 }),
  smoothGrad: (m, img) => smoothGrad(m, img, { target: 2, samples: 6, seed: 3 }),
  integratedGradients: (m, img) => integratedGradients(m, img, { target: 2, steps: 8 }),
  gradCam: (m, img) => gradCam(m, img, { target: 2, layer: 'conv3' }),
  gradCamPlusPlus: (m, img) => gradCamPlusPlus(m, img, { target: 2, layer: 'conv3' }),
  guidedBackprop: (m, img) => guidedBackprop(m, img, { target: 2 }),
  guidedGradCam: (m, img) => guidedGradCam(m, img, { target: 2, layer: 'conv3' }),
  occlusion: (m, img) => occlusion(m, img, { target: 2, window: 4, stride: 2 }),
};

describeNeeding(gpu, `attribution on webgpu equals cpu`, () => {
  it('every technique: map on webgpu within 1e-3 (relative) of the cpu map', async () => {
    await tf.setBackend('cpu');
    unregisterKernelFixes('cpu');
    const layers = toyModel();
    const model = fromLayersModel(layers);
    const pixels = seeded(12 * 12 * 3, 7, 0.5).map((v) => v + 0.5);
    const cpuMaps: Record<string, Float32Array> = {};
    for (const [name, run] of Object.entries(TECHNIQUES)) {
      const img = tf.tensor3d(pixels, [12, 12, 3]);
      const r = await run(model, img);
      cpuMaps[name] = (await r.map.data()) as Float32Array;
      r.dispose();
      img.dispose();
    }
    // The model's weights move to webgpu on first use there (cpu -> webgpu is supported; back is not).
    await tf.setBackend('webgpu');
    registerKernelFixes('webgpu');
    for (const [name, run] of Object.entries(TECHNIQUES)) {
      const img = tf.tensor3d(pixels, [12, 12, 3]);
      const r = await run(model, img);
      const map = (await r.map.data()) as Float32Array;
      r.dispose();
      img.dispose();
      expect(Math.max(...cpuMaps[name].map(Math.abs)), `${name} map is not all zero`).toBeGreaterThan(0);
      expect(relErr(cpuMaps[name], map), name).toBeLessThan(1e-3);
    }
    layers.dispose();
  });

  it('no leaks on webgpu: tf.memory() is the same after 100 saliency calls (and after guided backprop)', async () => {
    await tf.setBackend('webgpu');
    registerKernelFixes('webgpu');
    const layers = toyModel();
    const model = fromLayersModel(layers);
    const img = tf.tensor3d(
      seeded(12 * 12 * 3, 8, 0.5).map((v) => v + 0.5),
      [12, 12, 3],
    );
    const once = async (t: Technique) => {
      const r = await t(model, img);
      await r.map.data();
      r.dispose();
    };
    await once(TECHNIQUES.saliency);
    await once(TECHNIQUES.guidedBackprop);
    const before = tf.memory();
    for (let i = 0; i < 100; i++) await once(TECHNIQUES.saliency);
    await once(TECHNIQUES.guidedBackprop);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    img.dispose();
    layers.dispose();
  });
});
