import * as tf from '@tensorflow/tfjs-core';

/** The geometry of a Conv2DBackpropInput call (its attributes name the forward input's shape; no dilation). */
export function backpropInputInfo(
  a: tf.Conv2DBackpropInputAttrs,
  filter: tf.TensorInfo,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    a.inputShape,
    filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}

/**
 * Pads (positive amounts) or crops (negative amounts) the two spatial axes of an NHWC tensor.
 * Transposed convolutions need both: explicit paddings larger than the filter, or strides that leave input rows
 * unused, turn the required padding negative.
 */
export function padOrCrop(
  t: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): tf.Tensor4D {
  let r = t;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [b, h, w, c] = r.shape;
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    r = tf.slice(r, [0, t0, l0, 0], [b, h - t0 - Math.max(0, -bottom), w - l0 - Math.max(0, -right), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    r = tf.pad(r, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return r;
}

export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/**
 * `padOrCrop` for a tensor that a convolution reads next: crops the negative amounts and returns the positive ones as
 * the convolution's explicit padding, so no padded copy is made (PadV2 was ~10 % of a MobileNetV2 input gradient on
 * wasm; XNNPACK pads for free).
 */
export function cropForConv(
  t: tf.Tensor4D,
  top: number,
  bottom: number,
  left: number,
  right: number,
): { x: tf.Tensor4D; pad: ExplicitPad } {
  const x = padOrCrop(t, Math.min(0, top), Math.min(0, bottom), Math.min(0, left), Math.min(0, right));
  const pad: ExplicitPad = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  return { x, pad };
}

/** Inserts s-1 zeros after every row / column (a "fractionally strided" signal); shape [B, H*sH, W*sW, C]. */
export function dilateSpatial(t: tf.Tensor4D, sH: number, sW: number): tf.Tensor4D {
  if (sH === 1 && sW === 1) return t;
  const [b, h, w, c] = t.shape;
  const t6 = tf.reshape(t, [b, h, 1, w, 1, c]);
  const p = tf.pad(t6, [
    [0, 0],
    [0, 0],
    [0, sH - 1],
    [0, 0],
    [0, sW - 1],
    [0, 0],
  ]);
  return tf.reshape(p, [b, h * sH, w * sW, c]);
}

/**
 * The input of the forward ("valid", stride 1) convolution that computes a convolution's input gradient:
 * dy dilated by the stride and padded so that correlating it with the spatially flipped filter yields exactly
 * `info.inShape` — dx[i] = Σ_k dy_dilated[i + padTop − k]·w[k].
 */
export function transposedConvInput(dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [top, bottom, left, right] = transposedConvPads(info);
  return padOrCrop(dilateSpatial(dy, info.strideHeight, info.strideWidth), top, bottom, left, right);
}

/** `transposedConvInput` with its zero padding left to the convolution (see `cropForConv`). */
export function transposedConvParts(
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): { x: tf.Tensor4D; pad: ExplicitPad } {
  const [top, bottom, left, right] = transposedConvPads(info);
  return cropForConv(dilateSpatial(dy, info.strideHeight, info.strideWidth), top, bottom, left, right);
}

function transposedConvPads(info: tf.backend_util.Conv2DInfo): [number, number, number, number] {
  const { inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = info;
  const fH = info.effectiveFilterHeight;
  const fW = info.effectiveFilterWidth;
  const top = fH - 1 - info.padInfo.top;
  const left = fW - 1 - info.padInfo.left;
  const bottom = inHeight + fH - 1 - top - outHeight * strideHeight;
  const right = inWidth + fW - 1 - left - outWidth * strideWidth;
  return [top, bottom, left, right];
}

/**
 * The filter-tap views of x: for tap (wR, wC) the [B, outH, outW, C] input values that tap multiplied in the
 * forward convolution. Calls `fn` per tap (row-major) and returns its results.
 */
export function forEachTap<T>(
  x: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  fn: (xs: tf.Tensor4D, wR: number, wC: number) => T,
): T[] {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const needH = (outHeight - 1) * strideHeight + (filterHeight - 1) * dilationHeight + 1;
  const needW = (outWidth - 1) * strideWidth + (filterWidth - 1) * dilationWidth + 1;
  const xp = padOrCrop(x, top, needH - inHeight - top, left, needW - inWidth - left);
  const spanH = (outHeight - 1) * strideHeight + 1;
  const spanW = (outWidth - 1) * strideWidth + 1;
  const out: T[] = [];
  for (let wR = 0; wR < filterHeight; wR++) {
    for (let wC = 0; wC < filterWidth; wC++) {
      const r = wR * dilationHeight;
      const c = wC * dilationWidth;
      const xs =
        strideHeight === 1 && strideWidth === 1
          ? tf.slice(xp, [0, r, c, 0], [batchSize, outHeight, outWidth, inChannels])
          : (tf.stridedSlice(
              xp,
              [0, r, c, 0],
              [batchSize, r + spanH, c + spanW, inChannels],
              [1, strideHeight, strideWidth, 1],
            ) as tf.Tensor4D);
      out.push(fn(xs, wR, wC));
      xs.dispose();
    }
  }
  if (xp !== x) xp.dispose();
  return out;
}

/**
 * The filter of an undilated convolution equal to a dilated one: rate-1 zeros inserted between taps, shape
 * [(fH-1)·dH+1, (fW-1)·dW+1, ...]. A dilated convolution's input gradient is the undilated one's with this filter
 * (y[i] = Σ_k x[i·s + k·d − p]·w[k] is the same sum over the zero-inserted taps), which every backend's
 * BackpropInput kernels compute; tfjs's own gradients refuse dilations.
 */
export function dilateFilter(filter: tf.Tensor4D, dH: number, dW: number): tf.Tensor4D {
  if (dH === 1 && dW === 1) return filter;
  // Rank <= 4 ops only: webgpu's Pad mis-handles the rank-6 tensor dilateSpatial pads.
  return tf.tidy(() => {
    const [fH, fW, a, b] = filter.shape;
    const rH = (fH - 1) * dH + 1;
    const rW = (fW - 1) * dW + 1;
    const rows = tf.pad(tf.reshape(filter, [fH, 1, fW * a * b]), [
      [0, 0],
      [0, dH - 1],
      [0, 0],
    ]);
    const r = tf.slice(tf.reshape(rows, [fH * dH, fW * a * b]), [0, 0], [rH, fW * a * b]);
    const cols = tf.pad(tf.reshape(r, [rH, fW, 1, a * b]), [
      [0, 0],
      [0, 0],
      [0, dW - 1],
      [0, 0],
    ]);
    const c = tf.slice(tf.reshape(cols, [rH, fW * dW, a * b]), [0, 0, 0], [rH, rW, a * b]);
    return tf.reshape(c, [rH, rW, a, b]);
  });
}
