import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

interface PThreads {
  unusedWorkers?: { unref?(): void }[];
  runningWorkers?: { unref?(): void }[];
}

/**
 * tfjs-backend-wasm ships a pthreads + SIMD build whose XNNPACK thread pool runs convolutions and matrix products on
 * several cores, but it turns it off in Node (tfjs issue 3830) because three things fail there:
 *
 * 1. The Emscripten loader hands each pthread worker its scripts as `Blob` object URLs, which Node's `Worker` and the
 *    worker's `importScripts` (a `readFileSync`) cannot open. We write both scripts to a private temp directory and
 *    hand out the paths instead.
 * 2. The main script is the factory's own source (`Function.toString`) taken from tfjs's Rollup bundle, so it refers
 *    to the bundle's module aliases (`require$$0` = fs, ...), which do not exist in the worker. We define them.
 * 3. tfjs sizes the pool as `min(requested, logical cores / 2)`, reading the core count once when the module starts,
 *    which is one thread on a 2-core machine. We report twice the wanted count while the module starts.
 *
 * This runs around the backend's first initialisation only; everything is restored afterwards. The temp directory
 * is removed when the process exits.
 */
export async function withWasmThreads<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(os.tmpdir(), 'cnnviz-wasm-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const mainPath = join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const bundleAliases =
    "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks')," +
    "require$$4=require('os'),commonjsGlobal=globalThis;\n";

  const RealBlob = globalThis.Blob;
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  const texts = new WeakMap<Blob, string>();
  class TextBlob extends RealBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts?.every((p) => typeof p === 'string')) {
        const text = parts.join('');
        texts.set(this, text);
        // The main script is posted to the workers as this Blob and never passes through createObjectURL.
        if (text.startsWith('var WasmBackendModuleThreadedSimd'))
          writeFileSync(mainPath, bundleAliases + text);
      }
    }
  }
  const createObjectURL = (blob: Blob): string => {
    const text = texts.get(blob);
    if (text === undefined || !text.includes('WasmBackendModuleThreadedSimd(Module)')) {
      return realCreateObjectURL(blob);
    }
    const workerPath = join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
    const loadMain = 'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}';
    if (!text.includes(loadMain)) throw new Error('unrecognised tfjs-backend-wasm worker script');
    writeFileSync(workerPath, text.replace(loadMain, `if(true){importScripts(${JSON.stringify(mainPath)})}`));
    return workerPath;
  };
  const cpus = realCpus();
  globalThis.Blob = TextBlob;
  URL.createObjectURL = createObjectURL;
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    const out = await init();
    // Emscripten keeps its pthread workers referenced, so a script that is done would never exit.
    const pthreads = (tf.findBackend('wasm') as unknown as { wasm?: { PThread?: PThreads } } | undefined)
      ?.wasm?.PThread;
    for (const w of [...(pthreads?.unusedWorkers ?? []), ...(pthreads?.runningWorkers ?? [])]) w.unref?.();
    return out;
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreateObjectURL;
    os.cpus = realCpus;
  }
}
