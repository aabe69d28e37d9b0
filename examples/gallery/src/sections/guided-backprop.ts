import * as tf from '@tensorflow/tfjs-core';
import { channel } from '@cnnviz/core';
import { defaultCamLayer, guidedBackprop, guidedGradCam } from '@cnnviz/attribution';
import { gradientPicture, grid, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { fashionSamples } from './samples.js';

/** 7. Guided backprop: the image features a class or an intermediate neuron responds to. */
export const guidedBackpropSection: Technique = {
  id: 'guided-backprop',
  group: 'gradients',
  lecture: 7,
  title: 'Guided backpropagation',
  blurb:
    'The gradient of a class score or of one intermediate neuron, with every ReLU passing back only positive gradients through positive inputs: much cleaner pictures of what the unit responds to (Springenberg et al. 2015). Guided Grad-CAM multiplies it by Grad-CAM.',
  async run(g, bar) {
    const figures = [];
    const { model, samples } = await fashionSamples(g);
    const layer = defaultCamLayer(model)!;
    const size = 112;
    const tiles = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const [gb, t1] = await timed(() => guidedBackprop(model, s.image, { target: s.label }));
      const [ggc, t2] = await timed(() => guidedGradCam(model, s.image, { target: s.label, layer }));
      ms += t1 + t2;
      tiles.push(
        tile(s.image, size),
        tf.tidy(() => tile(gradientPicture(gb.raw as tf.Tensor3D), size)),
        tf.tidy(() => tile(gradientPicture(ggc.raw as tf.Tensor3D), size)),
      );
      gb.dispose();
      ggc.dispose();
      bar.update(i + 1, samples.length + 1);
    }
    figures.push({
      title: 'Image | guided backprop | guided Grad-CAM of the predicted class',
      file: await g.save('07-guided-backprop', grid(tiles, 6)),
      model: 'fashion-cnn',
      layer,
      settings: 'gradient standardised around grey',
      ms,
    });

    // The lecture's "intermediate neuron": the most active channel of a mid-level MobileNetV2 layer on a photo.
    const size2 = g.q(160, 224);
    const mobilenet = await g.mobilenet(size2);
    const cat = await g.image('chelsea', size2);
    const midLayer = 'block_6_expand_relu';
    const c = tf.tidy(() => {
      const act = mobilenet.forward(mobilenet.preprocess(cat), [midLayer]).activations[midLayer];
      return tf.argMax(tf.reshape(tf.max(act, [0, 1, 2]), [-1]));
    });
    const unit = (await c.data())[0];
    c.dispose();
    const [r, t] = await timed(() => guidedBackprop(mobilenet, cat, { objective: channel(midLayer, unit) }));
    const pic = gradientPicture(r.raw as tf.Tensor3D);
    r.dispose();
    bar.update(samples.length + 1, samples.length + 1);
    const both = grid([cat.clone(), pic], 2);
    figures.push({
      title: `Channel ${unit} of ${midLayer} on a photo`,
      file: await g.save('07b-guided-neuron', both),
      model: `mobilenet-v2 (${size2} px)`,
      layer: midLayer,
      settings: `objective: channel ${unit} (the most active one), summed over positions`,
      ms: t,
    });
    return figures;
  },
};
