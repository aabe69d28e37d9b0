// The example of packages/synthesis/README.md (kept runnable): npx tsx examples/scripts/synthesis/readme-example.ts
import { run } from '@cnnviz/core';
import { images, zoo } from '@cnnviz/models';
import { initBackend, writePng } from '@cnnviz/node';
import {
  adversarial,
  applyStyleNetwork,
  deepDream,
  loadBundledStyleNetwork,
  transferStyle,
  visualizeClass,
} from '@cnnviz/synthesis';

await initBackend(); // fastest backend that passes its self-test (WASM + kernel fixes on a plain machine)

// DeepDream: an async iterator of steps; run() drives it and returns the last step.
const mobilenet = await zoo.mobilenetV2Features({ inputSize: 160 });
const cat = await images.load('chelsea'); // [H,W,3] in 0..1
const dream = await run(deepDream(mobilenet, cat, { layer: 'block_6_expand_relu', octaves: 2, steps: 5 }));
await writePng('out/readme-dream.png', dream.image!);

// Style transfer, two styles blended 50/50, with progress and a way to stop.
const controller = new AbortController();
const styled = await run(
  transferStyle(
    mobilenet,
    await images.load('astronaut'),
    [
      { image: await images.load('starry_night'), weight: 0.5 },
      { image: await images.load('scream'), weight: 0.5 },
    ],
    {
      size: 128,
      steps: 30,
      signal: controller.signal,
      onProgress: (s) => console.log(`style step ${s.step}/${s.steps} loss ${s.loss.toFixed(3)}`),
    },
  ),
);
await writePng('out/readme-style.png', styled.image!);

// Fast style transfer with the bundled Starry Night network: one forward pass.
const net = await loadBundledStyleNetwork('starry_night');
const fast = applyStyleNetwork(net, cat);
await writePng('out/readme-fast-style.png', fast);

// Class visualisation and an adversarial example on the bundled Fashion-MNIST CNN.
const fashion = await zoo.fashionCnn();
const bag = await run(visualizeClass(fashion, { target: 8, steps: 100 }));
await writePng('out/readme-class-bag.png', bag.image!);
const shoe = await images.load('fashion-ankle-boot', { channels: 1 });
const adv = await adversarial(fashion, shoe, {
  method: 'pgd',
  epsilon: 0.1,
  target: 8,
  steps: 40,
  stepSize: 0.01,
});
console.log(
  `before: ${adv.before.name} ${(100 * adv.before.prob).toFixed(1)} %, after: ${adv.after.name} ${(100 * adv.after.prob).toFixed(1)} %`,
);
await writePng('out/readme-adversarial.png', adv.image);

// Results hold tensors: dispose them.
for (const t of [cat, dream.image!, styled.image!, fast, bag.image!, shoe]) t.dispose();
adv.dispose();
net.dispose();
