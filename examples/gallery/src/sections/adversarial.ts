import * as tf from '@tensorflow/tfjs-core';
import { adversarial } from '@cnnviz/synthesis';
import { grid, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { classify, fashionSamples } from './samples.js';

/** 9. Adversarial examples: an invisible change flips the class. */
export const adversarialSection: Technique = {
  id: 'adversarial',
  group: 'gradients',
  lecture: 9,
  title: 'Adversarial examples',
  blurb:
    'Push an image towards another class with small signed gradient steps (PGD, Madry et al. 2018), each pixel within ε of the original: the change is faint, the network changes its mind.',
  async run(g, bar) {
    const { model, samples } = await fashionSamples(g, ['fashion-sneaker', 'fashion-trouser', 'fashion-bag']);
    const labels = model.labels ?? [];
    // Target: a class far from the original, by name where the labels allow it.
    const wanted: Record<string, string> = {
      'fashion-sneaker': 'Bag',
      'fashion-trouser': 'Sneaker',
      'fashion-bag': 'Trouser',
    };
    const epsilon = 0.1;
    const steps = g.q(20, 50);
    const tiles: tf.Tensor3D[] = [];
    const lines: string[] = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const idx = labels.findIndex((l) => l.toLowerCase() === wanted[s.name]?.toLowerCase());
      const target = idx >= 0 ? idx : (s.label + 5) % (labels.length || 10);
      const [r, t] = await timed(() =>
        adversarial(model, s.image, { method: 'pgd', epsilon, target, steps }),
      );
      ms += t;
      const quantised = tf.tidy(() => tf.div(tf.round(tf.mul(r.image, 255)), 255) as tf.Tensor3D);
      const after = await classify(model, quantised);
      quantised.dispose();
      lines.push(
        `${s.labelName} (p ${s.prob.toFixed(2)}) → ${labels[after.label] ?? after.label} (p ${after.prob.toFixed(2)})`,
      );
      tiles.push(
        tile(s.image, 112),
        tile(r.perturbation as tf.Tensor3D, 112),
        tile(r.image as tf.Tensor3D, 112),
      );
      r.dispose();
      bar.update(i + 1, samples.length);
    }
    return [
      {
        title: 'Original | perturbation (grey = 0, ±ε at the ends) | adversarial image',
        file: await g.save('09-adversarial', grid(tiles, 3)),
        model: 'fashion-cnn',
        settings: `targeted PGD, ε ${epsilon}, ${steps} steps; predictions of the saved 8-bit images: ${lines.join('; ')}`,
        command: `cnnviz adversarial fashion-sneaker -m fashion-cnn --method pgd --target Bag --epsilon ${epsilon} --steps ${steps} --perturbation perturbation.png -o adversarial.png`,
        ms,
      },
    ];
  },
};
