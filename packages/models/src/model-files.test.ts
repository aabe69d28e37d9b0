import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CnnvizError } from '@cnnviz/core';
import { loadModel } from './load.js';
import { DEFAULT_MAX_MODEL_JSON_BYTES, checkManifest, weightUrl } from './model-files.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-modelfiles-'));
let topology: object;
let specs: tf.io.WeightsManifestEntry[];
let weights: Buffer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, name: 'conv' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 3, name: 'out' }),
    ],
  });
  await m.save(
    tf.io.withSaveHandler(async (art) => {
      topology = art.modelTopology as object;
      specs = art.weightSpecs!;
      weights = Buffer.from(tf.io.CompositeArrayBuffer.join(art.weightData!));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  m.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A model folder whose model.json names `paths` as its weight files. */
function folder(name: string, paths: string[], manifest?: unknown, extra: object = {}): string {
  const f = join(dir, name);
  mkdirSync(f, { recursive: true });
  const json = {
    format: 'layers-model',
    modelTopology: topology,
    weightsManifest: manifest ?? [{ paths, weights: specs }],
    ...extra,
  };
  writeFileSync(join(f, 'model.json'), JSON.stringify(json));
  return join(f, 'model.json');
}

async function loadErr(source: string, options = {}): Promise<CnnvizError> {
  const before = tf.memory().numTensors;
  const e = await loadModel(source, options).then(
    (m) => {
      m.dispose?.();
      return undefined;
    },
    (x: unknown) => x,
  );
  expect(tf.memory().numTensors).toBe(before);
  expect(CnnvizError.isInstance(e), String(e)).toBe(true);
  return e as CnnvizError;
}

describe('weight paths stay inside the model folder', () => {
  it('refuses ../ even when the target has exactly the bytes the manifest wants', async () => {
    // The file outside is a perfect fit: only the path check can refuse it.
    writeFileSync(join(dir, 'secret.bin'), weights);
    const ok = folder('good', ['w.bin']);
    writeFileSync(join(dir, 'good', 'w.bin'), weights);
    const m = await loadModel(ok);
    expect(m.layers.map((l) => l.name)).toContain('conv');
    m.dispose?.();
    const e = await loadErr(folder('escape', ['../secret.bin']));
    expect(e.code).toBe('MODEL_LOAD');
    expect(e.message).toMatch(/weight path "\.\.\/secret\.bin" leaves the model's folder/);
    const abs = await loadErr(folder('absolute', [join(dir, 'secret.bin')]));
    expect(abs.message).toMatch(/leaves the model's folder/);
    const deep = await loadErr(folder('deep', ['sub/../../secret.bin']));
    expect(deep.message).toMatch(/leaves the model's folder/);
  });

  it('refuses a symbolic link inside the folder that points outside it', async () => {
    const p = folder('link', ['w.bin']);
    symlinkSync(join(dir, 'secret.bin'), join(dir, 'link', 'w.bin'));
    const e = await loadErr(p);
    expect(e.code).toBe('MODEL_LOAD');
    expect(e.message).toMatch(/is a link to .*secret\.bin, outside the model's folder/);
  });
});

describe('the manifest is checked before any weight file is opened', () => {
  // The weight file does not exist: every error below must be about the manifest, not the file.
  const cases: [string, unknown, RegExp][] = [
    ['negative dim', [{ ...specs0(), shape: [-1, 3] }], /shape must be a list/],
    ['fractional dim', [{ ...specs0(), shape: [1.5] }], /shape must be a list/],
    ['huge shape', [{ ...specs0(), shape: [65536, 65536] }], /more than TF\.js can hold/],
    ['unknown dtype', [{ ...specs0(), dtype: 'float64' }], /unknown dtype "float64"/],
    ['bad quantization', [{ ...specs0(), quantization: { dtype: 'int4' } }], /unknown quantization/],
    [
      'quantization without scale',
      [{ ...specs0(), quantization: { dtype: 'uint8' } }],
      /finite scale and min/,
    ],
    ['no name', [{ shape: [1], dtype: 'float32' }], /has no name/],
  ];
  function specs0() {
    return { name: 'w', shape: [1], dtype: 'float32' };
  }
  it.each(cases)('%s → MODEL_LOAD', async (name, weightsList, pattern) => {
    const p = folder(
      `manifest-${name.replace(/ /g, '-')}`,
      [],
      [{ paths: ['absent.bin'], weights: weightsList }],
    );
    const e = await loadErr(p);
    expect(e.code).toBe('MODEL_LOAD');
    expect(e.message).toMatch(pattern);
  });

  it('a manifest that is not a list, or paths that are not names', async () => {
    expect(() => checkManifest({ paths: [] }, 'x')).toThrow(/not a list of weight groups/);
    expect(() => checkManifest([{ paths: [7], weights: [] }], 'x')).toThrow(
      /paths must be a list of file names/,
    );
    expect(checkManifest([{ paths: ['a', 'b'], weights: specs }], 'x')).toEqual([
      { paths: ['a', 'b'], bytes: weights.length },
    ]);
  });

  it('file sizes are compared with the manifest before reading', async () => {
    const p = folder('sizes', ['a.bin', 'b.bin']);
    writeFileSync(join(dir, 'sizes', 'a.bin'), weights.subarray(0, 10));
    writeFileSync(join(dir, 'sizes', 'b.bin'), weights.subarray(10, 20));
    const e = await loadErr(p);
    expect(e.message).toMatch(
      new RegExp(`group 0 hold 20 bytes but the manifest describes ${weights.length}`),
    );
  });
});

describe('model.json size limit', () => {
  it('refuses a model.json over maxModelJsonBytes before parsing it; default 64 MiB', async () => {
    const p = folder('big', ['w.bin'], undefined, { padding: 'x'.repeat(5000) });
    writeFileSync(join(dir, 'big', 'w.bin'), weights);
    const e = await loadErr(p, { maxModelJsonBytes: 4096 });
    expect(e.code).toBe('MODEL_LOAD');
    expect(e.message).toMatch(/model\.json is \d+ bytes, over the limit of 4096/);
    const m = await loadModel(p);
    m.dispose?.();
    expect(DEFAULT_MAX_MODEL_JSON_BYTES).toBe(64 * 2 ** 20);
  });
});

describe('nothing in a model file runs as code', () => {
  it('a Lambda layer with source code, a __proto__ key and a constructor class name are refused; nothing runs', async () => {
    const marker = join(dir, 'ran.txt');
    const code = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`;
    const topo = JSON.parse(JSON.stringify(topology)) as {
      config: { layers: { class_name: string; config: Record<string, unknown> }[] };
    };
    const layers = topo.config.layers;
    const hostile = [
      { class_name: 'Lambda', config: { name: 'l', function: code, function_type: 'lambda' } },
      { class_name: 'constructor', config: { name: 'c' } },
      { class_name: '__proto__', config: { name: 'p' } },
    ];
    for (const [i, layer] of hostile.entries()) {
      const t = JSON.parse(JSON.stringify(topo)) as typeof topo;
      t.config.layers = [layers[0], layer, ...layers.slice(1)];
      const f = join(dir, `code-${i}`);
      mkdirSync(f, { recursive: true });
      writeFileSync(join(f, 'w.bin'), weights);
      const text = JSON.stringify({
        modelTopology: t,
        weightsManifest: [{ paths: ['w.bin'], weights: specs }],
      });
      // A __proto__ key (JSON.parse makes it an own property; a naive merge would pollute).
      writeFileSync(
        join(f, 'model.json'),
        text.replace('{"modelTopology"', '{"__proto__":{"polluted":1},"modelTopology"'),
      );
      const e = await loadErr(join(f, 'model.json'));
      expect(typeof e.code).toBe('string');
    }
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
    expect(() => readFileSync(marker)).toThrow();
  });
});

describe('http: weight URLs stay inside the model URL folder', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  beforeAll(async () => {
    const files: Record<string, Buffer | string> = {
      '/models/a/w.bin': weights,
      '/secret.bin': weights,
      '/models/secret.bin': weights,
      '/models/a/long.bin': Buffer.concat([weights, Buffer.alloc(64)]),
    };
    const manifest = (paths: string[]) =>
      JSON.stringify({
        format: 'layers-model',
        modelTopology: topology,
        weightsManifest: [{ paths, weights: specs }],
      });
    files['/models/a/model.json'] = manifest(['w.bin']);
    files['/models/a/up.json'] = manifest(['../secret.bin']);
    files['/models/a/root.json'] = manifest(['/secret.bin']);
    files['/models/a/encoded.json'] = manifest(['%2e%2e/secret.bin']);
    files['/models/a/host.json'] = manifest(['http://example.invalid/w.bin']);
    files['/models/a/long.json'] = manifest(['long.bin']);
    server = createServer((req, res) => {
      requests.push(req.url!);
      const body = files[req.url!];
      if (body === undefined) {
        res.statusCode = 404;
        res.end();
      } else res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}/models/a/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('loads a good model, refuses ../, /root, %2e%2e and another host without requesting them', async () => {
    const m = await loadModel(`${base}model.json`);
    expect(m.layers.map((l) => l.name)).toContain('out');
    m.dispose?.();
    for (const name of ['up', 'root', 'encoded', 'host']) {
      const e = await loadErr(`${base}${name}.json`);
      expect(e.code).toBe('MODEL_LOAD');
      expect(e.message).toMatch(/leaves the model's folder/);
    }
    expect(requests.filter((r) => r.includes('secret'))).toEqual([]);
    expect(weightUrl('http://h/a/b/model.json', 'c/w.bin')).toBe('http://h/a/b/c/w.bin');
    expect(weightUrl('http://h/a/model.json?v=2', 'w.bin')).toBe('http://h/a/w.bin?v=2');
    expect(() => weightUrl('http://h/a/model.json', '//evil/a/w.bin')).toThrow(/leaves the model's folder/);
  });

  it('refuses a weight response longer than its manifest, and a model.json over the limit', async () => {
    const e = await loadErr(`${base}long.json`);
    expect(e.message).toMatch(/the weight file is over the limit of \d+ bytes|over the limit/);
    const big = await loadErr(`${base}model.json`, { maxModelJsonBytes: 100 });
    expect(big.message).toMatch(/model\.json is \d+ bytes, over the limit of 100/);
  });
});
