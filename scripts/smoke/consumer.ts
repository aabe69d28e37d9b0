// TypeScript consumer of the published types (ESM; `tsc --noEmit` under moduleResolution node16 and bundler).
// The @ts-expect-error lines fail the check if a type degrades to `any` or stops constraining its options.
import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError, run, type CnnvizErrorCode, type Step, type VisionModel } from '@cnnviz/core';
import { images, zoo, type ZooModel } from '@cnnviz/models';
import { saliency, type Attribution } from '@cnnviz/attribution';
import { adversarial, visualizeClass, type AdversarialOptions } from '@cnnviz/synthesis';

export async function consume(): Promise<number> {
  const model: ZooModel = await zoo.fashionCnn();
  const asVision: VisionModel = model;
  const boot: tf.Tensor3D = await images.load('fashion-ankle-boot');
  const s: Attribution = await saliency(asVision, boot, { target: 9 });
  const map: tf.Tensor2D = s.map;
  const options: AdversarialOptions = { method: 'fgsm', epsilon: 0.05 };
  const adv = await adversarial(model, boot, options);
  const advImage: tf.Tensor3D = adv.image;
  const last: Step = await run(visualizeClass(model, { target: 8, steps: 3 }));
  const loss: number = last.loss;

  // @ts-expect-error: 'nope' is not a method
  await adversarial(model, boot, { method: 'nope', epsilon: 0.05 });
  // @ts-expect-error: a target is a class index, one per image, or an objective, not a label name
  await saliency(model, boot, { target: 'Ankle boot' });
  // @ts-expect-error: a batch attribution's map is [N,H,W], not a Tensor2D
  const wrong: tf.Tensor2D = (await saliency(model, tf.stack([boot]) as tf.Tensor4D, { target: 9 })).map;

  try {
    await saliency(model, boot, { target: 99 });
  } catch (e) {
    if (CnnvizError.isInstance(e)) {
      const code: CnnvizErrorCode = e.code;
      console.log(code);
    }
  }
  tf.dispose([map, advImage, wrong]);
  return loss;
}
