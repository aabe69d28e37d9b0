// TypeScript CommonJS consumer: under module node16 a .cts file compiles to require(), so these imports resolve
// the packages' "require" types (dist/index.d.cts).
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { images, zoo } from '@cnnviz/models';
import { saliency } from '@cnnviz/attribution';
import { adversarial } from '@cnnviz/synthesis';

export async function consumeCjs(): Promise<number> {
  const model = await zoo.fashionCnn();
  const boot = await images.load('fashion-ankle-boot');
  const s = await saliency(model, boot, { target: 9 });
  // @ts-expect-error: epsilon is a number
  await adversarial(model, boot, { method: 'fgsm', epsilon: '0.05' });
  // @ts-expect-error: a single image's map is a Tensor2D
  const wrong: Tensor3D = s.map;
  const size = s.map.size + wrong.size;
  s.dispose();
  return size;
}
