import { check, checkLayer, CnnvizError, type LayerInfo, type VisionModel } from '@cnnviz/core';

/** A rectangle in input pixels. */
export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Where the units of a layer look in the input, along y and x. Unit (y, x) sees the input pixels
 * `offset + [y, x] * stride` to `offset + [y, x] * stride + size - 1` (padding included, so the
 * field may reach outside the image).
 */
export interface ReceptiveField {
  layer: string;
  size: [number, number];
  stride: [number, number];
  /** Top-left input pixel of unit (0, 0)'s field; negative where it reaches into the padding. */
  offset: [number, number];
  /** The layer's spatial size for the input size used. */
  outputSize: [number, number];
}

interface Geometry {
  size: [number, number];
  stride: [number, number];
  offset: [number, number];
  spatial: [number, number];
}

const UNSUPPORTED = /upsampl|transpose|resiz|deconv/i;
const ZERO_PAD = /zeropad/i;
const CROP = /^cropping/i;

/**
 * The receptive field of a layer's units, from the geometry of the layers below it (kernel size,
 * stride, padding, dilation; Araujo et al. 2019): size_out = size_in + (k_eff - 1) * stride_in,
 * stride_out = stride_in * s, offset_out = offset_in - pad_before * stride_in, where 'same'
 * padding puts floor(total / 2) before (TensorFlow's rule, which depends on the input size) and
 * zero-padding layers are read off their output shapes. Where branches merge (residual adds) the
 * field is the union of the branches' fields.
 */
export function receptiveField(
  model: VisionModel,
  layer: string,
  inputSize?: [number, number],
): ReceptiveField {
  const names = model.layers.map((l) => l.name);
  checkLayer(layer, names);
  const target = model.layers.find((l) => l.name === layer)!;
  check(
    target.outputShape.length === 3,
    'BAD_LAYER',
    `receptive fields need a spatial layer [H,W,C]; "${layer}" (${target.kind}) has output shape [${target.outputShape.join(',')}]`,
  );
  const [mh, mw] = model.inputShape;
  const size = inputSize ?? [mh, mw];
  check(
    typeof size[0] === 'number' && typeof size[1] === 'number',
    'BAD_OPTION',
    'the model takes any input size: pass inputSize [height, width]',
  );
  // Layer shapes hold for the model's own input size only.
  const useShapes = size[0] === mh && size[1] === mw;
  const input: Geometry = { size: [1, 1], stride: [1, 1], offset: [0, 0], spatial: size as [number, number] };
  const index = new Map(model.layers.map((l, i) => [l.name, i]));
  const memo = new Map<string, Geometry>();
  const visit = (i: number): Geometry => {
    const info = model.layers[i];
    const cached = memo.get(info.name);
    if (cached) return cached;
    const sources = info.inputs ?? (i > 0 ? [model.layers[i - 1].name] : []);
    const parents = sources.map((s) => (index.has(s) ? visit(index.get(s)!) : input));
    const merged = parents.length === 0 ? input : union(parents);
    const g = apply(info, merged, parents.length ? parents : [input], useShapes);
    memo.set(info.name, g);
    return g;
  };
  const g = visit(index.get(layer)!);
  return { layer, size: g.size, stride: g.stride, offset: g.offset, outputSize: g.spatial };
}

/** The input rectangle unit (y, x) of a layer sees, clipped to an image of `imageSize`. */
export function receptiveFieldBox(
  rf: ReceptiveField,
  y: number,
  x: number,
  imageSize: [number, number],
): Box {
  const top = rf.offset[0] + y * rf.stride[0];
  const left = rf.offset[1] + x * rf.stride[1];
  const t = Math.max(0, top);
  const l = Math.max(0, left);
  const b = Math.min(imageSize[0], top + rf.size[0]);
  const r = Math.min(imageSize[1], left + rf.size[1]);
  return { top: t, left: l, height: Math.max(0, b - t), width: Math.max(0, r - l) };
}

function union(parents: Geometry[]): Geometry {
  const [first] = parents;
  const offset: [number, number] = [0, 1].map((d) => Math.min(...parents.map((p) => p.offset[d]))) as [
    number,
    number,
  ];
  const end = [0, 1].map((d) => Math.max(...parents.map((p) => p.offset[d] + p.size[d])));
  const stride: [number, number] = [0, 1].map((d) => Math.max(...parents.map((p) => p.stride[d]))) as [
    number,
    number,
  ];
  return { offset, size: [end[0] - offset[0], end[1] - offset[1]], stride, spatial: first.spatial };
}

function apply(info: LayerInfo, g: Geometry, parents: Geometry[], useShapes: boolean): Geometry {
  if (UNSUPPORTED.test(info.kind)) {
    throw new CnnvizError(
      'UNSUPPORTED_OP',
      `receptive fields through upsampling layers are not supported ("${info.name}", ${info.kind})`,
    );
  }
  const out = useShapes ? outputSpatial(info) : undefined;
  if (info.kernel) {
    const { size, strides, padding, dilation = [1, 1] } = info.kernel;
    const next: Geometry = { size: [0, 0], stride: [0, 0], offset: [0, 0], spatial: [0, 0] };
    for (const d of [0, 1]) {
      const k = dilation[d] * (size[d] - 1) + 1;
      const s = strides[d];
      const inSize = g.spatial[d];
      const outSize = padding === 'same' ? Math.ceil(inSize / s) : Math.floor((inSize - k) / s) + 1;
      const before = padding === 'same' ? Math.floor(Math.max((outSize - 1) * s + k - inSize, 0) / 2) : 0;
      next.size[d] = g.size[d] + (k - 1) * g.stride[d];
      next.stride[d] = g.stride[d] * s;
      next.offset[d] = g.offset[d] - before * g.stride[d];
      next.spatial[d] = out?.[d] ?? outSize;
    }
    return next;
  }
  if (ZERO_PAD.test(info.kind) || CROP.test(info.kind)) {
    // Keras puts floor(total / 2) before for its "correct_pad" zero padding of even sizes, and
    // crops symmetrically; the amounts are not in LayerInfo, so they come from the shapes.
    const inSpatial = parents[0].spatial;
    const spatial = out ?? inSpatial;
    const shift = [0, 1].map((d) => {
      const total = spatial[d] - inSpatial[d];
      return total >= 0 ? Math.floor(total / 2) : -Math.ceil(-total / 2);
    });
    return {
      size: g.size,
      stride: g.stride,
      offset: [g.offset[0] - shift[0] * g.stride[0], g.offset[1] - shift[1] * g.stride[1]],
      spatial: [spatial[0], spatial[1]],
    };
  }
  return { ...g, spatial: out ?? g.spatial };
}

function outputSpatial(info: LayerInfo): [number, number] | undefined {
  const [h, w] = info.outputShape;
  return info.outputShape.length === 3 && typeof h === 'number' && typeof w === 'number' ? [h, w] : undefined;
}
