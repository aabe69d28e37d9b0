import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * Instance normalisation (Ulyanov et al. 2016): each image's channels are normalised over
 * their own spatial positions, which is what lets a feed-forward network change the contrast of
 * each picture the way style transfer needs. tfjs-layers has none, so it is a custom layer.
 */
class InstanceNormalization extends tfl.layers.Layer {
  static className = 'CnnvizInstanceNormalization';
  private gamma?: tfl.LayerVariable;
  private beta?: tfl.LayerVariable;
  private readonly epsilon: number;

  constructor(args: { epsilon?: number; name?: string } = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = shape[shape.length - 1] as number;
    this.gamma = this.addWeight('gamma', [c], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      // Spatial means as a whole-map average pool: TF.js reduces only the innermost axis, so
      // tf.moments over H,W transposes the whole map first (a fifth of the WASM inference time).
      const mean = tf.avgPool(x, [h, w], 1, 'valid');
      const centred = tf.sub(x, mean);
      const variance = tf.avgPool(tf.square(centred) as tf.Tensor4D, [h, w], 1, 'valid');
      const norm = tf.mul(centred, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(
        tf.mul(norm, (this.gamma as tfl.LayerVariable).read()),
        (this.beta as tfl.LayerVariable).read(),
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}

/** Reflection padding (Johnson et al.'s choice over zeros: no dark frame around the output). */
class ReflectionPadding2D extends tfl.layers.Layer {
  static className = 'CnnvizReflectionPadding2D';
  private readonly padding: number;

  constructor(args: { padding: number; name?: string }) {
    super({ name: args.name });
    this.padding = args.padding;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const grow = (d: number | null) => (d === null ? null : d + 2 * this.padding);
    return [s[0], grow(s[1]), grow(s[2]), s[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const p = this.padding;
    return tf.mirrorPad(
      x,
      [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ],
      'reflect',
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

let registered = false;
/** Registers the custom layers with TF.js's serialisation, so saved networks load. Idempotent. */
export function registerStyleLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(InstanceNormalization);
  tf.serialization.registerClass(ReflectionPadding2D);
  registered = true;
}

export interface StyleNetworkArchitecture {
  /** Channels of the first convolution; the downsampled trunk has 4x this. Default 16. */
  width?: number;
  /** Residual blocks in the trunk. Default 3. */
  residualBlocks?: number;
  /** Seed of the initial weights, so training runs repeat exactly. Default 0. */
  seed?: number;
}

/**
 * Johnson et al.'s (2016) image transformation network, slimmed for the browser: 9x9 conv,
 * two stride-2 convs down, residual blocks with instance norm, two nearest-neighbour
 * upsample + conv stages up (no checkerboard artefacts of transposed convs), 9x9 conv to RGB,
 * sigmoid to 0..1. Fully convolutional: any input whose sides are multiples of 4 and at least 8.
 */
export function buildStyleNetwork(arch: StyleNetworkArchitecture = {}): tfl.LayersModel {
  registerStyleLayers();
  const w = arch.width ?? 16;
  const blocks = arch.residualBlocks ?? 3;
  const seed = arch.seed ?? 0;
  let n = 0;
  const name = (kind: string) => `${kind}_${n++}`;
  const convBlock = (x: tfl.SymbolicTensor, filters: number, kernel: number, stride: number, relu = true) => {
    let y = new ReflectionPadding2D({ padding: Math.floor(kernel / 2), name: name('pad') }).apply(
      x,
    ) as tfl.SymbolicTensor;
    y = tfl.layers
      .conv2d({
        filters,
        kernelSize: kernel,
        strides: stride,
        padding: 'valid',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + n }),
        name: name('conv'),
      })
      .apply(y) as tfl.SymbolicTensor;
    y = new InstanceNormalization({ name: name('norm') }).apply(y) as tfl.SymbolicTensor;
    return relu ? (tfl.layers.reLU({ name: name('relu') }).apply(y) as tfl.SymbolicTensor) : y;
  };
  const input = tfl.input({ shape: [null, null, 3], name: 'image' });
  let x = convBlock(input, w, 9, 1);
  x = convBlock(x, 2 * w, 3, 2);
  x = convBlock(x, 4 * w, 3, 2);
  for (let b = 0; b < blocks; b++) {
    const y = convBlock(convBlock(x, 4 * w, 3, 1), 4 * w, 3, 1, false);
    x = tfl.layers.add({ name: name('residual') }).apply([x, y]) as tfl.SymbolicTensor;
  }
  for (const f of [2 * w, w]) {
    x = tfl.layers.upSampling2d({ size: [2, 2], name: name('up') }).apply(x) as tfl.SymbolicTensor;
    x = convBlock(x, f, 3, 1);
  }
  x = new ReflectionPadding2D({ padding: 4, name: name('pad') }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .conv2d({
      filters: 3,
      kernelSize: 9,
      padding: 'valid',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + n }),
      name: name('conv'),
    })
    .apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.activation({ activation: 'sigmoid', name: 'rgb' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: x, name: 'cnnviz_style_network' });
}
