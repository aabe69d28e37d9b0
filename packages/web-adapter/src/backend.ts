import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError, check, checkNumber, registerKernelFixes } from '@cnnviz/core';
import { type GlRendererInfo, type GpuAdapterInfo, probeWebgl, probeWebgpu } from './probe.js';
import { selfTest } from './self-test.js';

/** Where tfjs-backend-wasm fetches its binaries: a folder URL, or one URL per file name. */
export type WasmPaths =
  | string
  | Record<
      'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm',
      string
    >;

export interface InitBackendOptions {
  /**
   * Backend to try first: 'webgpu', 'webgl', 'wasm', 'cpu', or any backend already registered
   * with tfjs. A backend asked for by name is used on a software renderer too. If it is missing
   * or fails its self-test the automatic order follows, unless `strict`.
   */
  backend?: string;
  /** Throw (code BACKEND) instead of falling back when the requested backend fails. */
  strict?: boolean;
  /**
   * Where the app serves tfjs-backend-wasm's `.wasm` files (see the README for Vite). Without it
   * tfjs looks beside its own script, which a bundler has moved: WASM then fails and says so.
   */
  wasmPaths?: WasmPaths;
  /** WASM threads (needs a cross-origin isolated page; otherwise WASM runs on one thread). */
  threads?: number;
  /**
   * Use WebGPU / WebGL on a software renderer (SwiftShader, llvmpipe) in the automatic order.
   * Default false: a software GPU is many times slower than WASM on the same CPU.
   */
  allowSoftware?: boolean;
  /** Check each candidate against the CPU backend before using it (default true; ~0.1-2 s). */
  selfTest?: boolean;
}

export interface TriedBackend {
  name: string;
  ok: boolean;
  why: string;
}

export interface BackendInfo {
  /** The tfjs backend now active: 'webgpu', 'webgl', 'wasm', 'cpu' or a custom name. */
  name: string;
  /** The WebGPU adapter, when `name` is 'webgpu'. */
  adapter?: GpuAdapterInfo;
  /** The WebGL renderer, when `name` is 'webgl'. */
  renderer?: GlRendererInfo;
  /** Why this backend was chosen, and what was skipped. */
  reason: string;
  /** cnnviz kernel fixes installed for it (see `registerKernelFixes` in @cnnviz/core). */
  fixes: string[];
  /** Every candidate, in the order tried. */
  tried: TriedBackend[];
  /** Threads the backend computes with, where known (WASM). */
  threads?: number;
}

type Outcome =
  | { ok: true; name: string; adapter?: GpuAdapterInfo; renderer?: GlRendererInfo; threads?: number }
  | { ok: false; why: string };

interface Candidate {
  id: string;
  start(): Promise<Outcome>;
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** Quiet `setBackend`: tfjs logs factory failures to the console; we report them in `tried`. */
async function activate(name: string): Promise<Outcome> {
  if (!tf.findBackendFactory(name) && !tf.findBackend(name)) {
    return { ok: false, why: `no backend "${name}" is registered with tfjs-core` };
  }
  const warn = console.warn;
  const messages: string[] = [];
  console.warn = (...args: unknown[]) => messages.push(args.map(String).join(' '));
  try {
    const ok = await tf.setBackend(name);
    if (!ok) {
      return {
        ok: false,
        why: `tf.setBackend('${name}') failed${messages.length ? `: ${messages.join('; ')}` : ''}`,
      };
    }
    await tf.ready();
    return { ok: true, name };
  } catch (e) {
    return { ok: false, why: `tf.setBackend('${name}') threw: ${firstLine(e)}` };
  } finally {
    console.warn = warn;
  }
}

async function load(pkg: string, importer: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await importer();
    return undefined;
  } catch (e) {
    return `${pkg} failed to load: ${firstLine(e)}`;
  }
}

async function startWebgpu(allowSoftware: boolean): Promise<Outcome> {
  const probe = await probeWebgpu();
  if (!probe.ok) return probe;
  const adapter = probe.info;
  const what = [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ');
  if (adapter.software && !allowSoftware) {
    return {
      ok: false,
      why: `only a software adapter (${what || 'fallback'}${adapter.isFallbackAdapter ? ', isFallbackAdapter' : ''}), slower than WASM; ask for backend 'webgpu' to use it anyway`,
    };
  }
  const failed = await load(
    '@tensorflow/tfjs-backend-webgpu',
    () => import('@tensorflow/tfjs-backend-webgpu'),
  );
  if (failed) return { ok: false, why: failed };
  const out = await activate('webgpu');
  return out.ok ? { ...out, adapter } : out;
}

async function startWebgl(allowSoftware: boolean): Promise<Outcome> {
  const probe = probeWebgl();
  if (!probe.ok) return probe;
  const renderer = probe.info;
  if (renderer.software && !allowSoftware) {
    return {
      ok: false,
      why: `only a software renderer (${renderer.renderer}), slower than WASM; ask for backend 'webgl' to use it anyway`,
    };
  }
  const failed = await load('@tensorflow/tfjs-backend-webgl', () => import('@tensorflow/tfjs-backend-webgl'));
  if (failed) return { ok: false, why: failed };
  const out = await activate('webgl');
  return out.ok ? { ...out, renderer } : out;
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

async function startWasm(paths: WasmPaths | undefined, threads: number | undefined): Promise<Outcome> {
  let wasm: WasmModule;
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { ok: false, why: `@tensorflow/tfjs-backend-wasm failed to load: ${firstLine(e)}` };
  }
  if (paths !== undefined) {
    try {
      wasm.setWasmPaths(typeof paths === 'string' && !paths.endsWith('/') ? `${paths}/` : paths);
    } catch (e) {
      // It throws once the backend has initialised (the paths no longer matter then), or for an incomplete map.
      if (!/already initialized/i.test(firstLine(e))) return { ok: false, why: `wasmPaths: ${firstLine(e)}` };
    }
  }
  if (threads !== undefined) wasm.setThreadsCount(threads);
  const out = await activate('wasm');
  if (!out.ok) {
    const hint =
      paths === undefined
        ? ' (no wasmPaths given: tfjs fetched the .wasm files beside its own script; serve them and pass wasmPaths)'
        : '';
    return { ok: false, why: `${out.why}${hint}` };
  }
  let count: number | undefined;
  try {
    count = wasm.getThreadsCount();
  } catch {
    // Older builds set the count only on some paths; it is informational.
  }
  return count === undefined ? out : { ...out, threads: count };
}

async function startCpu(): Promise<Outcome> {
  const failed = await load('@tensorflow/tfjs-backend-cpu', () => import('@tensorflow/tfjs-backend-cpu'));
  if (failed) return { ok: false, why: failed };
  const out = await activate('cpu');
  return out.ok ? { ...out, threads: 1 } : out;
}

/** The automatic order (DESIGN.md, Runtime): hardware WebGPU, WebGL, WASM with cnnviz's kernel fixes, CPU. */
function candidates(requested: string | undefined, opts: InitBackendOptions): Candidate[] {
  const soft = (id: string) => opts.allowSoftware === true || requested === id;
  return [
    { id: 'webgpu', start: () => startWebgpu(soft('webgpu')) },
    { id: 'webgl', start: () => startWebgl(soft('webgl')) },
    { id: 'wasm', start: () => startWasm(opts.wasmPaths, opts.threads) },
    { id: 'cpu', start: () => startCpu() },
  ];
}

let current: BackendInfo | undefined;
let queue: Promise<unknown> = Promise.resolve();

async function select(opts: InitBackendOptions): Promise<BackendInfo> {
  check(opts !== null && typeof opts === 'object', 'BAD_OPTION', 'initBackend options must be an object');
  if (opts.threads !== undefined) checkNumber(opts.threads, 'threads', { min: 1, integer: true });
  const raw = opts.backend?.trim().toLowerCase() || undefined;
  const requested = raw;
  const all = candidates(requested, opts);
  let order = all;
  if (requested) {
    const chosen = all.filter((c) => c.id === requested);
    const first: Candidate[] = chosen.length ? chosen : [{ id: requested, start: () => activate(requested) }];
    order = [...first, ...all.filter((c) => c.id !== requested)];
  }
  const tried: TriedBackend[] = [];
  for (const c of order) {
    if (requested && opts.strict && c.id !== requested) break;
    const started = await c.start();
    if (!started.ok) {
      tried.push({ name: c.id, ok: false, why: started.why });
      continue;
    }
    const fixes = registerKernelFixes(started.name);
    let why = 'self-test skipped (selfTest: false)';
    if (opts.selfTest !== false) {
      const test = await selfTest();
      if (!test.ok) {
        tried.push({ name: c.id, ok: false, why: `self-test failed: ${test.why}` });
        continue;
      }
      why = test.why;
    }
    tried.push({ name: c.id, ok: true, why });
    const skipped = tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.why}`);
    const how = !requested
      ? 'fastest available backend that passed the self-test'
      : c.id === requested
        ? 'requested by the backend option'
        : `requested "${raw}" failed; fell back to the fastest backend that passed the self-test`;
    return {
      name: started.name,
      ...(started.adapter ? { adapter: started.adapter } : {}),
      ...(started.renderer ? { renderer: started.renderer } : {}),
      reason: `${c.id}: ${how}${skipped.length ? `. Skipped: ${skipped.join('; ')}` : ''}`,
      fixes,
      tried,
      ...(started.threads !== undefined ? { threads: started.threads } : {}),
    };
  }
  throw new CnnvizError(
    'BACKEND',
    `no usable TF.js backend${requested && opts.strict ? ` ("${raw}" requested, strict)` : ''}: ${tried
      .map((t) => `${t.name}: ${t.why}`)
      .join('; ')}`,
  );
}

/**
 * Picks and activates the fastest TF.js backend this browser runs correctly — WebGPU on a
 * hardware adapter, then WebGL on a hardware renderer, then WASM (with cnnviz's kernel fixes),
 * then CPU — checks it against the CPU backend (gradients and guided backprop included),
 * installs cnnviz's kernel fixes for it, and says why (`backendInfo()`). Calls are serialised;
 * a later call selects again.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const run = queue.then(() => select(opts));
  queue = run.catch(() => undefined);
  current = await run;
  return current;
}

/** What `initBackend` chose and why; before it has run, the TF.js default with an empty history. */
export function backendInfo(): BackendInfo {
  if (current && current.name === tf.getBackend()) return current;
  const name = tf.getBackend() ?? 'none';
  return {
    name,
    reason: current
      ? `backend changed to "${name}" outside initBackend (it chose "${current.name}")`
      : 'initBackend() has not run: TF.js default backend, no self-test, no kernel fixes',
    fixes: [],
    tried: current?.tried ?? [],
  };
}
