import { check, checkLayer, closestNames, type LayerInfo, type VisionModel } from '@cnnviz/core';

const CONV = /conv/i;
// Layers that keep a conv block's spatial map as it is, element by element: the last conv-like
// layer is the one after them (a ReLU after a convolution is still "the conv layer's output").
const ELEMENTWISE =
  /relu|activation|batchnorm|normalization|add|elu|leaky|prelu|dropout|identity|clip|swish|sigmoid|tanh/i;

function isSpatial(layer: LayerInfo): boolean {
  return layer.outputShape.length === 3;
}

/**
 * The default layer for Grad-CAM: the model's own choice if it names one
 * (`layersOfInterest.gradcam`, or the zoo's `entry.layersOfInterest.gradcam`), else the last convolution with a spatial output, followed through
 * the element-wise layers after it (batch norm, activation) so the map sees the block's output.
 */
export function defaultCamLayer(model: VisionModel): string | undefined {
  type WithChoice = { layersOfInterest?: { gradcam?: unknown } };
  const m = model as WithChoice & { entry?: WithChoice };
  const named = m.layersOfInterest?.gradcam ?? m.entry?.layersOfInterest?.gradcam;
  if (typeof named === 'string' && model.layers.some((l) => l.name === named)) return named;
  const layers = model.layers;
  let index = -1;
  for (let i = layers.length - 1; i >= 0; i--) {
    if (CONV.test(layers[i].kind) && isSpatial(layers[i])) {
      index = i;
      break;
    }
  }
  if (index < 0) return undefined;
  while (
    index + 1 < layers.length &&
    isSpatial(layers[index + 1]) &&
    ELEMENTWISE.test(layers[index + 1].kind)
  ) {
    index++;
  }
  return layers[index].name;
}

/** Checks that `layer` exists and has a spatial output `[H,W,C]`; picks the default when absent. */
export function spatialLayer(model: VisionModel, layer: unknown, technique: string): string {
  const spatial = model.layers.filter(isSpatial).map((l) => l.name);
  if (layer === undefined) {
    const chosen = defaultCamLayer(model);
    check(
      chosen !== undefined,
      'BAD_LAYER',
      `${technique}: the model has no convolution layer with a spatial output; pass layer (spatial layers: ${spatial.slice(-5).join(', ') || 'none'})`,
    );
    return chosen;
  }
  checkLayer(
    layer,
    model.layers.map((l) => l.name),
  );
  const info = model.layers.find((l) => l.name === layer)!;
  check(
    isSpatial(info),
    'BAD_LAYER',
    () =>
      `${technique} needs a layer with a spatial output [H,W,C]; "${layer}" (${info.kind}) has output shape [${info.outputShape.join(',')}]. Spatial layers near it: ${closestNames(layer, spatial, 5).join(', ')}`,
  );
  return layer;
}
