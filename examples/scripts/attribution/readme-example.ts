// The README's example, runnable: npx tsx examples/scripts/attribution/readme-example.ts
import { mkdir } from 'node:fs/promises';
import { initBackend, writePng } from '@cnnviz/node';
import { images, zoo } from '@cnnviz/models';
import { gradCam, integratedGradients, overlay, saliency, toHeatmap } from '@cnnviz/attribution';

await initBackend(); // fastest installed backend (WASM with cnnviz's kernel fixes here)
const model = await zoo.fashionCnn();
const boot = await images.load('fashion-ankle-boot'); // [28,28,1], 0..1

const s = await saliency(model, boot, { target: 9 }); // raw: d logit[9] / d pixels; map: max_c |raw|
const ig = await integratedGradients(model, boot, { target: 9, steps: 64 });
console.log('completeness error', ig.completenessError); // |sum(raw) - (f(x) - f(0))| / |f(x) - f(0)|
const cam = await gradCam(model, boot, { target: 9 }); // map at the last conv block's resolution

const pictures = {
  saliency: toHeatmap(s),
  ig: toHeatmap(ig), // signed → diverging colormap, 0 is white
  gradcam: overlay(boot, cam), // Grad-CAM upsampled onto the image
};
await mkdir('out', { recursive: true });
for (const [name, picture] of Object.entries(pictures)) {
  await writePng(`out/${name}.png`, picture);
  picture.dispose();
}
for (const r of [s, ig, cam]) r.dispose();
boot.dispose();
model.dispose?.();
