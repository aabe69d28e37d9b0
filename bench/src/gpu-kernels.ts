/**
 * Kernels, dispatches and GPU time (timestamp queries) of one cnnviz step on WebGPU: the figure issue 21 tracks on
 * lavapipe after every kernel change. MobileNetV2 (random weights, Keras layout) through fromLayersModel, as the
 * library runs it.
 *
 *   VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json npx tsx bench/src/gpu-kernels.ts --software [--size 224]
 *     [--only=saliency,smoothgrad,style] [--samples 4] [--style-size 128] [--json=PATH] [--top 15]
 *     [--precision=float16]   (cnnviz's shader-f16 kernels, as initBackend({ precision: 'float16' }) runs them)
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { registerKernelFixes, run, setWebgpuPrecision } from '@cnnviz/core';
import { fromLayersModel } from '@cnnviz/models';
import { saliency, smoothGrad } from '@cnnviz/attribution';
import { transferStyle } from '@cnnviz/synthesis';
import { cliArgs } from '../gpu/args.js';
import { startWebgpu } from '../gpu/dawn.js';
import { buildMobileNetV2 } from '../gpu/mobilenet-v2.js';
import { type KernelProfile, kernelProfile, printProfile } from '../gpu/profile.js';

const argv = process.argv.slice(2);
const { opt, num } = cliArgs(argv);
const size = num('--size', 224);
const samples = num('--samples', 4);
const styleSize = num('--style-size', 128);
const styleSteps = num('--style-steps', 2);
const top = num('--top', 15);
const only = (opt('--only') ?? 'saliency').split(',');

async function main() {
  const adapter = await startWebgpu({ allowSoftware: argv.includes('--software'), toggles: [] });
  registerKernelFixes('webgpu');
  const precision = opt('--precision') === 'float16' ? setWebgpuPrecision('float16') : undefined;
  if (precision !== undefined) console.log(`precision: ${precision.precision} (${precision.why})`);
  console.log(
    `adapter: ${adapter.description || adapter.vendor}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const profiles: KernelProfile[] = [];
  if (only.includes('saliency') || only.includes('smoothgrad')) {
    const spec = buildMobileNetV2(size, 1000);
    const model = fromLayersModel(spec.model);
    const img = tf.randomUniform([size, size, 3], 0, 1, 'float32', 1) as tf.Tensor3D;
    if (only.includes('saliency')) {
      const before = tf.memory().numTensors;
      const p = await kernelProfile(`saliency ${size}px (fromLayersModel)`, async () => {
        const r = await saliency(model, img, { target: 3 });
        await r.map.data();
        r.dispose();
      });
      printProfile(p, top);
      profiles.push(p);
      if (tf.memory().numTensors !== before)
        console.log(`  leak: ${tf.memory().numTensors - before} tensors`);
    }
    if (only.includes('smoothgrad')) {
      const p = await kernelProfile(
        `SmoothGrad-${samples} ${size}px (fromLayersModel)`,
        async () => {
          const r = await smoothGrad(model, img, { target: 3, samples, seed: 1 });
          await r.map.data();
          r.dispose();
        },
        1,
      );
      printProfile(p, top);
      profiles.push(p);
    }
    img.dispose();
    spec.model.dispose();
  }
  if (only.includes('style')) {
    const layers = [
      'Conv1_relu',
      'block_1_expand_relu',
      'block_3_expand_relu',
      'block_6_expand_relu',
      'block_13_expand_relu',
    ];
    const spec = buildMobileNetV2(styleSize, 1000);
    const model = fromLayersModel(spec.model, { outputLayer: layers[layers.length - 1] });
    const content = tf.randomUniform([styleSize, styleSize, 3], 0, 1, 'float32', 3) as tf.Tensor3D;
    const style = tf.randomUniform([styleSize, styleSize, 3], 0, 1, 'float32', 4) as tf.Tensor3D;
    const p = await kernelProfile(
      `style ${styleSize}px, ${styleSteps} steps (fromLayersModel)`,
      async () => {
        const last = await run(
          transferStyle(model, content, [{ image: style, weight: 1 }], {
            steps: styleSteps,
            contentLayer: 'block_6_expand_relu',
            styleLayers: layers,
          }),
        );
        if (last.image !== undefined) {
          await last.image.data();
          last.image.dispose();
        }
      },
      1,
    );
    printProfile(p, top);
    profiles.push(p);
    tf.dispose([content, style]);
    spec.model.dispose();
  }
  const json = opt('--json');
  if (json !== undefined)
    writeFileSync(
      json,
      JSON.stringify({ adapter, load: loadavg(), date: new Date().toISOString(), profiles }, null, 2),
    );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
