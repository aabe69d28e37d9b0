import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { images } from './images.js';
import { zoo } from './zoo.js';
import { setZooBase, zooArtifacts, zooLayersModel } from './zoo-weights.js';

interface TapSummary {
  shape: number[];
  sum: number;
  sumAbs: number;
  stride: number;
  samples: number[];
}
interface ReferenceCase {
  model: 'mobilenetV2Features' | 'inceptionV3Features';
  inputSize: number;
  taps: string[];
  logits: TapSummary;
}

const here = dirname(fileURLToPath(import.meta.url));
const packages = join(here, '..', '..');
const reference = JSON.parse(readFileSync(join(here, 'zoo-reference.json'), 'utf8')) as {
  cases: (Omit<ReferenceCase, 'taps'> & { taps: Record<string, TapSummary> })[];
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => setZooBase(undefined));

function expectSame(t: tf.Tensor, ref: TapSummary, what: string) {
  expect(t.shape, what).toEqual(ref.shape);
  const v = t.dataSync();
  let maxDiff = 0;
  for (let i = 0, k = 0; i < v.length; i += ref.stride, k++)
    maxDiff = Math.max(maxDiff, Math.abs(v[i] - ref.samples[k]));
  expect(maxDiff, `${what}: largest difference of the sampled values`).toBeLessThanOrEqual(1e-6);
  let sum = 0;
  let sumAbs = 0;
  for (const x of v) {
    sum += x;
    sumAbs += Math.abs(x);
  }
  expect(Math.abs(sum - ref.sum), `${what}: sum`).toBeLessThanOrEqual(1e-6 * Math.max(1, ref.sumAbs));
  expect(Math.abs(sumAbs - ref.sumAbs), `${what}: sum of |x|`).toBeLessThanOrEqual(
    1e-6 * Math.max(1, ref.sumAbs),
  );
}

describe('the zoo weight packages', () => {
  // zoo-reference.json was written by scripts/zoo/reference-fixture.ts from the nsfwjs loader of @cnnviz/models
  // 0.1.0, before the weights moved; scripts/zoo/extract.test.ts compares with nsfwjs itself where it is installed.
  it.each(reference.cases.map((c) => [`${c.model} at ${c.inputSize} px`, c] as const))(
    '%s gives the activations of the nsfwjs loader it replaced (to 1e-6)',
    async (_, c) => {
      const model = await zoo[c.model]({ inputSize: c.inputSize });
      const cat = await images.load('chelsea');
      const x = tf.tidy(() =>
        tf.expandDims(tf.image.resizeBilinear(cat, [c.inputSize, c.inputSize]), 0),
      ) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const names = Object.keys(c.taps);
      const px = model.preprocess(x);
      const out = model.forward(px, names);
      for (const t of names) expectSame(out.activations[t], c.taps[t], `${c.model} ${c.inputSize}px ${t}`);
      expectSame(out.logits!, c.logits, `${c.model} ${c.inputSize}px logits`);
      tf.dispose([px, out.logits!, ...Object.values(out.activations)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([cat, x]);
      model.dispose!();
    },
  );

  it('keep the uint8 quantisation nsfwjs ships, in binary shards', async () => {
    for (const name of ['mobilenetV2Features', 'inceptionV3Features'] as const) {
      const art = await zooArtifacts(name);
      const specs = art.weightSpecs!;
      expect(specs.length).toBeGreaterThan(100);
      expect(specs.every((s) => s.quantization?.dtype === 'uint8')).toBe(true);
      // uint8: one byte per value.
      const values = specs.reduce((a, s) => a + s.shape.reduce((p, q) => p * q, 1), 0);
      expect(tf.io.CompositeArrayBuffer.join(art.weightData!).byteLength).toBe(values);
    }
  });

  it('are fetched over HTTP from setZooBase, and a missing one is MODEL_NOT_INSTALLED naming `npm i`', async () => {
    // Serves packages/ as a web app would serve the weight packages' folders: <base>/zoo-mobilenet-v2/weights/...
    const server: Server = createServer((req, res) => {
      // One request per connection: the test's two phases must not share a pooled socket.
      res.setHeader('Connection', 'close');
      const rel = decodeURIComponent((req.url ?? '/').split('?')[0]);
      const file = join(packages, rel);
      const served = rel.startsWith('/zoo-mobilenet-v2/weights/') && !rel.includes('..');
      if (!served || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.statusCode = 404;
        res.end();
        return;
      }
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      setZooBase(`http://127.0.0.1:${port}`);
      const fetched = await zooArtifacts('mobilenetV2Features');
      setZooBase(undefined);
      const local = await zooArtifacts('mobilenetV2Features');
      expect(fetched.weightSpecs).toEqual(local.weightSpecs);
      expect(Buffer.from(tf.io.CompositeArrayBuffer.join(fetched.weightData!))).toEqual(
        Buffer.from(tf.io.CompositeArrayBuffer.join(local.weightData!)),
      );
      setZooBase(`http://127.0.0.1:${port}/`);
      const err = await zoo.inceptionV3Features().catch((e: unknown) => e);
      expect(err, String(err)).toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
      expect((err as Error).message).toMatch(/npm i @cnnviz\/zoo-inception-v3/);
      expect((err as Error).message).toMatch(/zoo-inception-v3\/weights\/model\.json/);
    } finally {
      server.close();
    }
    const empty = mkdtempSync(join(tmpdir(), 'cnnviz-zoo-'));
    setZooBase(pathToFileURL(empty));
    await expect(zoo.mobilenetV2Features()).rejects.toMatchObject({
      code: 'MODEL_NOT_INSTALLED',
      message: expect.stringMatching(/npm i @cnnviz\/zoo-mobilenet-v2/),
    });
    rmSync(empty, { recursive: true });
  });

  it('an app without @cnnviz/zoo-inception-v3 gets MODEL_NOT_INSTALLED from zoo.inceptionV3Features()', () => {
    // The built package in a project of its own, with every dependency but the optional weight package.
    const dist = join(packages, 'models', 'dist', 'index.js');
    if (!statSync(dist, { throwIfNoEntry: false }))
      throw new Error('run `npm run build -w @cnnviz/models` first');
    const app = mkdtempSync(join(tmpdir(), 'cnnviz-no-inception-'));
    try {
      const modules = join(app, 'node_modules');
      mkdirSync(join(modules, '@cnnviz', 'models'), { recursive: true });
      mkdirSync(join(modules, '@tensorflow'), { recursive: true });
      cpSync(join(packages, 'models', 'dist'), join(modules, '@cnnviz', 'models', 'dist'), {
        recursive: true,
      });
      cpSync(join(packages, 'models', 'package.json'), join(modules, '@cnnviz', 'models', 'package.json'));
      // Links to the repo's copies (Node follows them to their real paths, so the app has one tfjs-core).
      const repoModules = join(packages, '..', 'node_modules');
      symlinkSync(join(packages, 'core'), join(modules, '@cnnviz', 'core'));
      symlinkSync(join(packages, 'zoo-mobilenet-v2'), join(modules, '@cnnviz', 'zoo-mobilenet-v2'));
      for (const p of ['tfjs-core', 'tfjs-layers', 'tfjs-converter', 'tfjs-backend-cpu'])
        symlinkSync(join(repoModules, '@tensorflow', p), join(modules, '@tensorflow', p));
      symlinkSync(join(repoModules, 'pngjs'), join(modules, 'pngjs'));
      const script =
        "import '@tensorflow/tfjs-backend-cpu'; import { zoo } from '@cnnviz/models';" +
        'const m = await zoo.mobilenetV2Features({ inputSize: 32 }); console.log("mobilenet", m.layers.length);' +
        'await zoo.inceptionV3Features().catch((e) => console.log(e.code, e.message));';
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: app,
        encoding: 'utf8',
        // Captured, not passed through: the app's own CPU backend prints tfjs's first-use notice.
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(out).toMatch(/^mobilenet \d+$/m);
      expect(out).toMatch(/^MODEL_NOT_INSTALLED .*npm i @cnnviz\/zoo-inception-v3/m);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('builds the stock tfjs-layers model at other sizes and cuts', async () => {
    const m = await zooLayersModel('inceptionV3Features', { cut: 'mixed2', inputSize: 75 });
    expect(m.outputs[0].shape).toEqual([null, 7, 7, 288]);
    m.dispose();
    await expect(zooLayersModel('mobilenetV2Features', { inputSize: 8 })).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
    await expect(zooLayersModel('vgg16' as 'mobilenetV2Features')).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
  });
});
