import * as tf from '@tensorflow/tfjs-core';
import { channel } from '@cnnviz/core';
import { defaultCamLayer, guidedBackprop, guidedGradCam } from '@cnnviz/attribution';
import { gradientPicture, grid, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import type { VisionModel } from '@cnnviz/core';
import { fashionSamples } from './samples.js';

/** The channel of `layer` with the largest activation anywhere on `image`. */
async function mostActiveChannel(model: VisionModel, image: tf.Tensor3D, layer: string): Promise<number> {
  const c = tf.tidy(() => {
    const act = model.forward(model.preprocess(image), [layer]).activations[layer];
    return tf.argMax(tf.reshape(tf.max(act, [0, 1, 2]), [-1]));
  });
  const unit = (await c.data())[0];
  c.dispose();
  return unit;
}

/** 7. Guided backprop: the image features a class or an intermediate neuron responds to. */
export const guidedBackpropSection: Technique = {
  id: 'guided-backprop',
  group: 'gradients',
  lecture: 7,
  title: 'Guided backpropagation',
  blurb:
    'The gradient of a class score or of one intermediate neuron, with every ReLU passing back only positive gradients through positive inputs: much cleaner pictures of what the unit responds to (Springenberg et al. 2015). The deconvnet (Zeiler & Fergus 2014) passes back every positive gradient, whatever the unit did going forward. Guided Grad-CAM multiplies guided backprop by Grad-CAM.',
  async run(g, bar) {
    const figures = [];
    const { model, samples } = await fashionSamples(g);
    const layer = defaultCamLayer(model)!;
    const size = 112;
    const tiles = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const [gb, t1] = await timed(() => guidedBackprop(model, s.image, { target: s.label }));
      const [dc, t2] = await timed(() =>
        guidedBackprop(model, s.image, { target: s.label, rule: 'deconvnet' }),
      );
      const [ggc, t3] = await timed(() => guidedGradCam(model, s.image, { target: s.label, layer }));
      ms += t1 + t2 + t3;
      tiles.push(
        tile(s.image, size),
        tf.tidy(() => tile(gradientPicture(gb.raw as tf.Tensor3D), size)),
        tf.tidy(() => tile(gradientPicture(dc.raw as tf.Tensor3D), size)),
        tf.tidy(() => tile(gradientPicture(ggc.raw as tf.Tensor3D), size)),
      );
      gb.dispose();
      dc.dispose();
      ggc.dispose();
      bar.update(i + 1, samples.length + 2);
    }
    figures.push({
      title: 'Image | guided backprop | deconvnet | guided Grad-CAM of the predicted class',
      file: await g.save('07-guided-backprop', grid(tiles, 8)),
      model: 'fashion-cnn',
      layer,
      settings: 'gradient standardised around grey',
      ms,
      note: 'A max-pool follows every convolution here, so even the deconvnet (Zeiler & Fergus), which ignores the ReLU masks of the forward pass, keeps the garment through the pooling switches.',
      command: [
        `cnnviz guided ${samples[0].name} -m fashion-cnn -o guided.png`,
        `cnnviz guided ${samples[0].name} -m fashion-cnn --rule deconvnet -o deconvnet.png`,
        `cnnviz guided ${samples[0].name} -m fashion-cnn --cam -o guided-gradcam.png`,
      ].join('\n'),
    });

    // The lecture's "intermediate neuron": the most active channel of a mid-level layer on a photo.
    // InceptionV3 first: its stride-2 convolutions are few and early, so guided backprop is crisp.
    const inception = await g.inception();
    const size1 = 299;
    const cat1 = await g.image('chelsea', size1);
    const incLayer = 'mixed4';
    const unit1 = await mostActiveChannel(inception, cat1, incLayer);
    const objective1 = channel(incLayer, unit1);
    const [gi, ti1] = await timed(() => guidedBackprop(inception, cat1, { objective: objective1 }));
    const [di, ti2] = await timed(() =>
      guidedBackprop(inception, cat1, { objective: objective1, rule: 'deconvnet' }),
    );
    const incTiles = [
      cat1.clone(),
      gradientPicture(gi.raw as tf.Tensor3D),
      gradientPicture(di.raw as tf.Tensor3D),
    ];
    gi.dispose();
    di.dispose();
    bar.update(samples.length + 1, samples.length + 2);
    figures.push({
      title: `Image | guided backprop | deconvnet of channel ${unit1} of ${incLayer}`,
      file: await g.save('07b-guided-neuron', grid(incTiles, 3)),
      model: `inception-v3 (${size1} px)`,
      layer: incLayer,
      settings: `objective: channel ${unit1} (the most active one), mean over positions`,
      ms: ti1 + ti2,
      note: 'Guided backprop shows the eyes this unit fires on. The deconvnet passes every positive signal back through every ReLU, so with only three max-pools below this layer little of the image survives: a regular grid, as Mahendran & Vedaldi (2016) found for deconvnets. Both match PyTorch on the same weights (bench/src/guided-backprop-torch.ts).',
      command: [
        `cnnviz guided chelsea -m inception-v3 --objective ${incLayer}:${unit1} -o guided.png`,
        `cnnviz guided chelsea -m inception-v3 --objective ${incLayer}:${unit1} --rule deconvnet -o deconvnet.png`,
      ].join('\n'),
    });

    // MobileNetV2 for contrast: the same technique gives a fine checkerboard, and PyTorch's does too.
    const size2 = g.q(160, 224);
    const mobilenet = await g.mobilenet(size2);
    const cat = await g.image('chelsea', size2);
    const midLayer = 'block_6_expand_relu';
    const unit = await mostActiveChannel(mobilenet, cat, midLayer);
    const [r, t] = await timed(() => guidedBackprop(mobilenet, cat, { objective: channel(midLayer, unit) }));
    const pic = gradientPicture(r.raw as tf.Tensor3D);
    r.dispose();
    bar.update(samples.length + 2, samples.length + 2);
    const both = grid([cat.clone(), pic], 2);
    figures.push({
      title: `Channel ${unit} of ${midLayer}: the checkerboard is in the model`,
      file: await g.save('07c-guided-neuron-mobilenet', both),
      model: `mobilenet-v2 (${size2} px)`,
      layer: midLayer,
      settings: `objective: channel ${unit} (the most active one), mean over positions`,
      ms: t,
      note: "MobileNetV2 reaches this layer through three stride-2 3x3 convolutions (the stem and two depthwise ones); their transposed filters overlap unevenly and print a fine checkerboard on the gradient. PyTorch's guided backprop on the same weights and image gives the same picture (max relative difference 2.3e-7 at 224 px).",
      command: `cnnviz guided chelsea -m mobilenet-v2 --size ${size2} --objective ${midLayer}:${unit} -o guided.png`,
    });
    return figures;
  },
};
