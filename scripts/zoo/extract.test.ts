import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zoo } from '@cnnviz/models';
import { extractAll } from './extract.js';
import { nsfwjsBackbone } from './nsfwjs-bundles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('scripts/zoo/extract.ts', () => {
  it('the committed weight packages and fixture are exactly what it extracts from nsfwjs', async () => {
    for (const [rel, files] of await extractAll()) {
      for (const [name, bytes] of files) {
        expect(Buffer.compare(readFileSync(join(root, rel, name)), bytes), `${rel}/${name}`).toBe(0);
      }
    }
  });

  it.each([
    ['mobilenetV2Features', 96, ['Conv1_relu', 'block_6_expand_relu', 'out_relu']],
    ['inceptionV3Features', 75, ['mixed0', 'mixed5', 'mixed10']],
  ] as const)(
    'zoo.%s at %i px gives the activations of the nsfwjs loader it replaced (to 1e-6)',
    async (name, size, taps) => {
      const [now, before] = await Promise.all([zoo[name]({ inputSize: size }), nsfwjsBackbone(name, size)]);
      const x = tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
      const a = now.forward(now.preprocess(x), [...taps]);
      const b = before.forward(before.preprocess(x), [...taps]);
      for (const t of taps) {
        expect(a.activations[t].shape).toEqual(b.activations[t].shape);
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a.activations[t], b.activations[t]))).dataSync()[0]);
        expect(d, t).toBeLessThanOrEqual(1e-6);
      }
      tf.dispose([x, a.logits!, b.logits!, ...Object.values(a.activations), ...Object.values(b.activations)]);
      now.dispose!();
      before.dispose!();
    },
  );
});
