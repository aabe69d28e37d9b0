import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import {
  activateBackend as activate,
  applyPrecision,
  parsePrecision,
  type BackendCandidate,
  backendSelector,
  type BackendStart,
  checkNumber,
  currentPrecision,
  type Precision,
  describeGpuAdapter,
  errorFirstLine as firstLine,
  selectBackend,
  selfTest,
  type TriedBackend,
} from '@cnnviz/core';
import { wasmBinaryDir } from './wasm-paths.js';
import { withWasmThreads } from './wasm-threads.js';
import {
  type GpuAdapterInfo,
  installDawnAdapter,
  loadWebgpuBackend,
  probeDawn,
  uninstallDawn,
} from './webgpu.js';

export interface InitBackendOptions {
  /**
   * Backend to try first: 'tensorflow' (tfjs-node-gpu or tfjs-node), 'webgpu' (Dawn; software
   * adapters allowed when asked for by name), 'wasm', 'cpu', or any backend already registered
   * with tfjs. Overrides the `CNNVIZ_BACKEND` environment variable. If it is missing or fails its
   * self-test the automatic order follows, unless `strict`.
   */
  backend?: string;
  /** Throw (code BACKEND) instead of falling back when the requested backend fails. */
  strict?: boolean;
  /**
   * CPU threads for WASM's thread pool (XNNPACK's convolutions and matrix products); default: the cores
   * available, at most 8. Fixed once the WASM backend has started in this process.
   */
  threads?: number;
  /**
   * 'float16': cnnviz's WebGPU convolutions in half precision where the adapter offers `shader-f16` (see
   * `setWebgpuPrecision` in @cnnviz/core); float32 elsewhere, or BACKEND with `strict`. Overrides `CNNVIZ_PRECISION`.
   */
  precision?: Precision;
}

export type { TriedBackend };

export interface BackendInfo {
  /** The tfjs backend now active: 'tensorflow', 'webgpu', 'wasm', 'cpu' or a custom name. */
  name: string;
  /** The WebGPU adapter, when `name` is 'webgpu'. */
  adapter?: GpuAdapterInfo;
  /** Why this backend was chosen, and what was skipped. */
  reason: string;
  /** cnnviz kernel fixes installed for it (see `registerKernelFixes` in @cnnviz/core). */
  fixes: string[];
  /** Every candidate, in the order tried. */
  tried: TriedBackend[];
  /** CPU threads the backend computes with, where known. */
  threads?: number;
  /** The arithmetic cnnviz's convolutions use now: 'float16' only on webgpu with `shader-f16`, when asked for. */
  precision: Precision;
  /** Why `precision` is what it is (what float16 runs in f16, or why float16 was not possible). */
  precisionReason: string;
}

type Outcome = BackendStart<{ adapter?: GpuAdapterInfo; threads?: number }>;
/** `id` is the user-facing name that selects it ('tensorflow' covers both tfjs-node packages). */
type Candidate = BackendCandidate<{ adapter?: GpuAdapterInfo; threads?: number }>;

/** tfjs-backend-wasm pre-starts this many pthread workers, so its pool can use no more. */
const MAX_WASM_THREADS = 8;

/** "is not installed", or the load error of a package that is installed but broken. */
function loadFailure(pkg: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const line = firstLine(e);
  const missing =
    ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && line.includes(pkg)) ||
    // Vite (vitest) reports a missing optional peer as '__vite-optional-peer-dep:...' or
    // 'Could not resolve "<pkg>"', without a Node error code.
    line.includes('optional-peer-dep') ||
    (line.includes(`"${pkg}"`) && /could not resolve|cannot find/i.test(line));
  return missing ? `${pkg} is not installed` : `${pkg} failed to load: ${firstLine(e)}`;
}

async function startTensorflow(pkg: string): Promise<Outcome> {
  // Variable specifier: the optional peer is absent on most machines (its install downloads
  // libtensorflow) and type checking or bundling must not require it.
  const specifier = pkg;
  try {
    await import(specifier);
  } catch (e) {
    return { ok: false, why: loadFailure(pkg, e) };
  }
  if (!tf.findBackendFactory('tensorflow')) {
    return {
      ok: false,
      why: `${pkg} loaded but registered no 'tensorflow' backend here (a second copy of @tensorflow/tfjs-core?)`,
    };
  }
  return activate('tensorflow');
}

async function startWebgpu(allowSoftware: boolean): Promise<Outcome> {
  // Asked in a child process first, so that a machine without a driver hears Dawn's complaint once, in the reason.
  const found = await probeDawn();
  if (!found.ok) return found;
  if (found.adapter.software && !allowSoftware) {
    return {
      ok: false,
      why: `only a software adapter (${describeGpuAdapter(found.adapter)}), slower than WASM; set CNNVIZ_BACKEND=webgpu to use it anyway`,
    };
  }
  const probe = await installDawnAdapter();
  if (!probe.ok) {
    uninstallDawn();
    return probe;
  }
  const { adapter } = probe;
  try {
    await loadWebgpuBackend();
  } catch (e) {
    return { ok: false, why: loadFailure('@tensorflow/tfjs-backend-webgpu', e) };
  }
  if (!tf.findBackendFactory('webgpu')) {
    return {
      ok: false,
      why: '@tensorflow/tfjs-backend-webgpu registered nothing: it was imported before navigator.gpu existed; let @cnnviz/node load it',
    };
  }
  const out = await activate('webgpu');
  return out.ok ? { ...out, adapter } : out;
}

async function startWasm(threads: number | undefined): Promise<Outcome> {
  let wasm: {
    setWasmPaths(prefix: string): void;
    setThreadsCount(n: number): void;
    getThreadsCount(): number;
  };
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { ok: false, why: loadFailure('@tensorflow/tfjs-backend-wasm', e) };
  }
  if (tf.findBackend('wasm')) {
    // Initialised earlier in this process: its thread pool is fixed.
    const out = await activate('wasm');
    return out.ok ? { ...out, threads: wasm.getThreadsCount() } : out;
  }
  const dir = wasmBinaryDir();
  if (dir) {
    try {
      wasm.setWasmPaths(dir);
    } catch {
      // Already initialised earlier in this process: the paths no longer matter.
    }
  }
  const wanted = Math.min(threads ?? os.availableParallelism(), MAX_WASM_THREADS);
  wasm.setThreadsCount(wanted);
  let out = wanted > 1 ? await withWasmThreads(wanted, () => activate('wasm')) : await activate('wasm');
  if (!out.ok && wanted > 1) {
    // The threaded build did not start (a tfjs version whose loader we do not recognise): one thread still works.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    out = await activate('wasm');
  }
  return out.ok ? { ...out, threads: wasm.getThreadsCount() } : out;
}

async function startCpu(): Promise<Outcome> {
  try {
    await import('@tensorflow/tfjs-backend-cpu');
  } catch (e) {
    return { ok: false, why: loadFailure('@tensorflow/tfjs-backend-cpu', e) };
  }
  const out = await activate('cpu');
  return out.ok ? { ...out, threads: 1 } : out;
}

/**
 * The automatic order (DESIGN.md, Runtime): tfjs-node-gpu, then Dawn on a hardware adapter, then
 * tfjs-node, WASM with cnnviz's kernel fixes, and CPU.
 */
function candidates(requested: string | undefined, threads: number | undefined): Candidate[] {
  return [
    {
      id: 'tensorflow',
      label: 'tensorflow (tfjs-node-gpu)',
      start: () => startTensorflow('@tensorflow/tfjs-node-gpu'),
    },
    { id: 'webgpu', label: 'webgpu (Dawn)', start: () => startWebgpu(requested === 'webgpu') },
    {
      id: 'tensorflow',
      label: 'tensorflow (tfjs-node)',
      start: () => startTensorflow('@tensorflow/tfjs-node'),
    },
    { id: 'wasm', label: 'wasm', start: () => startWasm(threads) },
    { id: 'cpu', label: 'cpu', start: () => startCpu() },
  ];
}

const ALIASES: Record<string, string> = {
  'tfjs-node': 'tensorflow',
  'tfjs-node-gpu': 'tensorflow',
  node: 'tensorflow',
};

async function select(opts: InitBackendOptions): Promise<BackendInfo> {
  if (opts.threads !== undefined) checkNumber(opts.threads, 'threads', { min: 1, integer: true });
  const env = process.env.CNNVIZ_BACKEND?.trim().toLowerCase() || undefined;
  const raw = opts.backend?.trim().toLowerCase() || env;
  const requested = raw ? (ALIASES[raw] ?? raw) : undefined;
  const source = opts.backend ? 'the backend option' : 'CNNVIZ_BACKEND';
  // Checked before any backend starts: a bad value is the caller's mistake, not a reason to fall back.
  const envPrecision = process.env.CNNVIZ_PRECISION?.trim() || undefined;
  const precisionSource = opts.precision !== undefined ? 'the precision option' : 'CNNVIZ_PRECISION';
  const precision = parsePrecision(opts.precision ?? envPrecision, precisionSource);
  const { started: _, ...chosen } = await selectBackend<{ adapter?: GpuAdapterInfo; threads?: number }>({
    candidates: candidates(requested, opts.threads),
    requested,
    raw,
    strict: opts.strict,
    startOther: activate,
    selfTest,
    honoured: `requested by ${source}`,
    failed: `requested "${raw}" (${source}) failed`,
  });
  return { ...chosen, ...applyPrecision(precision, precisionSource, opts.strict) };
}

const selector = backendSelector(select);

/**
 * Picks and activates the fastest TF.js backend that is installed and passes a gradient
 * self-test, installs cnnviz's kernel fixes for it, and says why (`backendInfo()`). Calls are
 * serialised; a later call selects again.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  return selector.initBackend(opts);
}

/** What `initBackend` chose and why; before it has run, the TF.js default with an empty history. */
export function backendInfo(): BackendInfo {
  const info = selector.backendInfo();
  return 'precision' in info ? info : { ...info, ...currentPrecision() };
}
