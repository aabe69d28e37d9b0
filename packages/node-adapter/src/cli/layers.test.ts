import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, cli } from './test-cli.js';

// `cnnviz layers model.json` on a Keras 3 export (the fixture of @cnnviz/models' Keras 3 tests, weights made here):
// it loads (stock TF.js cannot), and each layer is listed with its kind, output shape and support.

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-cli-layers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeModel(name: string, edit?: (json: Record<string, any>) => void): string {
  const json = JSON.parse(
    readFileSync(join(ROOT, 'packages/models/src/fixtures/keras3-functional.json'), 'utf8'),
  );
  edit?.(json);
  const specs = json.weightsManifest[0].weights as { name: string; shape: number[] }[];
  const n = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  // Positive values keep batch-norm variances valid; the listing does not depend on them.
  const data = Float32Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919) % 97) / 97);
  const folder = mkdtempSync(join(dir, name));
  writeFileSync(join(folder, 'group1-shard1of1.bin'), Buffer.from(data.buffer));
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  return join(folder, 'model.json');
}

describe('cnnviz layers model.json', () => {
  it('lists a Keras 3 export: name, kind, output shape, differentiable, tappable, tested', async () => {
    const path = writeModel('k3');
    const r = await cli(['layers', path, '--json', '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const { layers } = JSON.parse(r.stdout) as {
      layers: {
        name: string;
        kind: string;
        outputShape: number[];
        differentiable: boolean;
        tested: boolean;
      }[];
    };
    expect(layers.map((l) => [l.name, l.kind, l.outputShape])).toEqual([
      ['input_layer', 'InputLayer', [8, 8, 3]],
      ['conv2d', 'Conv2D', [8, 8, 4]],
      ['batch_normalization', 'BatchNormalization', [8, 8, 4]],
      ['depthwise_conv2d', 'DepthwiseConv2D', [8, 8, 4]],
      ['add', 'Add', [8, 8, 4]],
      ['leaky_re_lu', 'LeakyReLU', [8, 8, 4]],
      ['global_average_pooling2d', 'GlobalAveragePooling2D', [4]],
      ['dropout', 'Dropout', [4]],
      ['dense', 'Dense', [3]],
    ]);
    expect(layers.every((l) => l.differentiable && l.tested)).toBe(true);

    const text = await cli(['layers', path, '--backend', 'cpu']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['name', 'kind', 'output', 'differentiable', 'tappable', 'tested']);
    expect(lines.find((l) => l.startsWith('depthwise_conv2d'))!.split(/\s+/)).toEqual([
      'depthwise_conv2d',
      'DepthwiseConv2D',
      '[8,8,4]',
      'yes',
      'yes',
      'yes',
    ]);
  });

  it('a model with a layer cnnviz cannot differentiate exits 2 naming the layer', async () => {
    const path = writeModel('emb', (json) => {
      json.modelTopology.model_config.config.layers[7].class_name = 'Embedding';
    });
    const r = await cli(['layers', path, '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'dropout' (Embedding)");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
