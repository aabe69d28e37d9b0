import * as tf from '@tensorflow/tfjs-core';
import { check, checkImage, resize } from '@cnnviz/core';

/**
 * Thumbnails as plain arrays: each image resized to `size x size` (bilinear) and read once, in
 * chunks so a large batch never sits on the backend twice. Returns `[size, size, c]` buffers.
 */
export async function readThumbnails(
  images: tf.Tensor3D[] | tf.Tensor4D,
  size: number,
  name: string,
): Promise<{ pixels: Float32Array[]; channels: number }> {
  let count: number;
  if (Array.isArray(images)) {
    check(images.length > 0, 'BAD_IMAGE', `${name} is empty`);
    images.forEach((im, i) => checkImage(im, { batch: false, name: `${name}[${i}]` }));
    count = images.length;
  } else {
    checkImage(images, { name });
    check(images.rank === 4, 'BAD_IMAGE', `${name} must be an array of [H,W,C] images or a batch [N,H,W,C]`);
    count = images.shape[0];
    check(count > 0, 'BAD_IMAGE', `${name} is empty`);
  }
  const channels = Array.isArray(images) ? images[0].shape[2] : images.shape[3];
  check(channels === 1 || channels === 3, 'BAD_IMAGE', `${name} must have 1 or 3 channels, got ${channels}`);
  const pixels: Float32Array[] = [];
  const chunk = 64;
  for (let s = 0; s < count; s += chunk) {
    const e = Math.min(count, s + chunk);
    const batch = tf.tidy(() => {
      const list = Array.isArray(images)
        ? images.slice(s, e).map((im) => {
            check(im.shape[2] === channels, 'BAD_IMAGE', `${name} must all have ${channels} channel(s)`);
            return resize(im, [size, size]);
          })
        : [];
      const b = Array.isArray(images)
        ? tf.stack(list)
        : resize(tf.slice(images, [s, 0, 0, 0], [e - s, -1, -1, -1]), [size, size]);
      return tf.clipByValue(b, 0, 1);
    });
    const data = (await batch.data()) as Float32Array;
    batch.dispose();
    const per = size * size * channels;
    for (let i = 0; i < e - s; i++) pixels.push(data.subarray(i * per, (i + 1) * per));
  }
  return { pixels, channels };
}
