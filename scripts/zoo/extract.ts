/**
 * Extracts the zoo's backbones from nsfwjs (MIT) into the weight packages, once per nsfwjs release:
 *
 *   npm run extract -w @cnnviz/zoo-extract      (or: npx tsx scripts/zoo/extract.ts [--check])
 *
 * - packages/zoo-mobilenet-v2/weights/: MobileNetV2 cut at out_relu (224 px), from nsfwjs models/mobilenet_v2;
 * - packages/zoo-inception-v3/weights/: InceptionV3 cut at mixed10 (299 px), from nsfwjs models/inception_v3;
 * - packages/models/fixtures/mobilenet-v2-mid/: nsfwjs's "mid" GraphModel unchanged (a test fixture of loadModel).
 *
 * Each is a plain TF.js model.json plus binary shards of at most 4 MiB. The NSFW classifier head and its weights
 * are dropped; every kept weight keeps its bytes and its uint8 quantisation exactly as nsfwjs ships them, and the
 * BatchNorm layers keep scale: false (@cnnviz/models runs them with gamma = 1). With --check, nothing is written
 * and the exit code says whether the committed files equal a fresh extraction.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { cutArtifacts } from '@cnnviz/models';
import { BACKBONES, nsfwjsArtifacts, type NsfwjsModelName } from './nsfwjs-bundles.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SHARD_BYTES = 4 * 1024 * 1024;

/** The version of the nsfwjs these files come from. */
export function nsfwjsVersion(): string {
  const entry = createRequire(import.meta.url).resolve('nsfwjs');
  let dir = dirname(entry);
  for (;;) {
    try {
      return (
        JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string }
      ).version;
    } catch {
      dir = dirname(dir);
    }
  }
}

/** The files of one model folder: model.json and its shards, by file name. */
export function modelFiles(
  art: tf.io.ModelArtifacts,
  meta: { format: string; generatedBy?: string; convertedBy: string },
): Map<string, Uint8Array> {
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(art.weightData!));
  const n = Math.max(1, Math.ceil(data.length / SHARD_BYTES));
  const files = new Map<string, Uint8Array>();
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `group1-shard${i + 1}of${n}.bin`;
    paths.push(name);
    files.set(name, data.subarray(i * SHARD_BYTES, Math.min(data.length, (i + 1) * SHARD_BYTES)));
  }
  const json = {
    format: meta.format,
    ...(meta.generatedBy ? { generatedBy: meta.generatedBy } : {}),
    convertedBy: meta.convertedBy,
    modelTopology: art.modelTopology,
    weightsManifest: [{ paths, weights: art.weightSpecs }],
  };
  files.set('model.json', new TextEncoder().encode(JSON.stringify(json)));
  return files;
}

/** Every folder extract.ts writes, with its files. */
export async function extractAll(): Promise<Map<string, Map<string, Uint8Array>>> {
  const version = nsfwjsVersion();
  const out = new Map<string, Map<string, Uint8Array>>();
  const folders: Record<keyof typeof BACKBONES, string> = {
    mobilenetV2Features: 'packages/zoo-mobilenet-v2/weights',
    inceptionV3Features: 'packages/zoo-inception-v3/weights',
  };
  for (const [name, b] of Object.entries(BACKBONES) as [
    keyof typeof BACKBONES,
    (typeof BACKBONES)[keyof typeof BACKBONES],
  ][]) {
    const { artifacts } = await nsfwjsArtifacts(b.nsfwjs as NsfwjsModelName);
    const topo = artifacts.modelTopology as { keras_version?: string };
    const cut = cutArtifacts(artifacts, b.cut, b.size);
    out.set(
      folders[name],
      modelFiles(cut, {
        format: 'layers-model',
        generatedBy: topo.keras_version ? `keras v${topo.keras_version}` : undefined,
        convertedBy: `@cnnviz/zoo-extract from nsfwjs ${version} models/${b.nsfwjs}, cut after ${b.cut}`,
      }),
    );
  }
  const mid = await nsfwjsArtifacts('mobilenet_v2_mid');
  out.set(
    'packages/models/fixtures/mobilenet-v2-mid',
    modelFiles(mid.artifacts, {
      format: 'graph-model',
      generatedBy: mid.json.generatedBy,
      convertedBy: `${mid.json.convertedBy}; unchanged from nsfwjs ${version} models/mobilenet_v2_mid`,
    }),
  );
  return out;
}

function sameFolder(dir: string, files: Map<string, Uint8Array>): boolean {
  let present: string[];
  try {
    present = readdirSync(dir).filter((f) => f === 'model.json' || f.endsWith('.bin'));
  } catch {
    return false;
  }
  if (present.length !== files.size) return false;
  for (const [name, bytes] of files) {
    let disk: Buffer;
    try {
      disk = readFileSync(join(dir, name));
    } catch {
      return false;
    }
    if (!disk.equals(bytes)) return false;
  }
  return true;
}

async function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, files] of await extractAll()) {
    const dir = join(root, rel);
    const bytes = [...files.values()].reduce((a, f) => a + f.length, 0);
    if (check) {
      const ok = sameFolder(dir, files);
      if (!ok) stale++;
      console.log(`${rel}: ${ok ? 'up to date' : 'DIFFERS from a fresh extraction'}`);
      continue;
    }
    for (const f of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()))
      if (f.name === 'model.json' || f.name.endsWith('.bin')) rmSync(join(dir, f.name));
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of files) writeFileSync(join(dir, name), data);
    console.log(`${rel}: ${files.size} files, ${bytes} bytes`);
  }
  if (stale) process.exit(1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
