import {
  activateBackend as activate,
  applyPrecision,
  type BackendCandidate,
  backendSelector,
  type BackendStart,
  check,
  checkNumber,
  currentPrecision,
  describeGpuAdapter,
  errorFirstLine as firstLine,
  type GpuAdapterInfo,
  type MinimalGpu,
  parsePrecision,
  type Precision,
  selectBackend,
  selfTest,
  type TriedBackend,
  withShaderF16,
} from '@cnnviz/core';
import { type GlRendererInfo, probeWebgl, probeWebgpu } from './probe.js';

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
  /** Check each candidate against the self-test's closed form before using it (default true; ~0.1-2 s). */
  selfTest?: boolean;
  /**
   * Arithmetic of the convolutions: 'float32' (default) or 'float16', which on WebGPU with an adapter that offers
   * `shader-f16` runs cnnviz's half-precision convolution kernels (tensors stay float32 in storage; see
   * `setWebgpuPrecision` in @cnnviz/core). The device must be created with the feature: ask for float16 in the
   * first `initBackend` of the page. Elsewhere float32 with the reason, or with `strict` an error (code BACKEND).
   */
  precision?: Precision;
}

export type { TriedBackend };

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
  /** The arithmetic cnnviz's convolutions use now: 'float16' only on WebGPU with `shader-f16`, when asked for. */
  precision: Precision;
  /** Why `precision` is what it is (what float16 runs in f16, or why float16 was not possible). */
  precisionReason: string;
}

type Found = { adapter?: GpuAdapterInfo; renderer?: GlRendererInfo; threads?: number };
type Outcome = BackendStart<Found>;
type Candidate = BackendCandidate<Found>;

async function load(pkg: string, importer: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await importer();
    return undefined;
  } catch (e) {
    return `${pkg} failed to load: ${firstLine(e)}`;
  }
}

/**
 * Before tfjs-backend-webgpu creates its device: adapters that offer shader-f16 create the device with it (tfjs's
 * factory requests only timestamp-query), so that precision 'float16' can run.
 */
function requestShaderF16(): void {
  const nav = (globalThis as { navigator?: { gpu?: MinimalGpu } }).navigator;
  if (nav?.gpu === undefined || f16Wrapped.has(nav.gpu)) return;
  const wrapped = withShaderF16(nav.gpu);
  f16Wrapped.add(wrapped);
  Object.defineProperty(nav, 'gpu', { value: wrapped, configurable: true });
}
const f16Wrapped = new WeakSet<object>();

async function startWebgpu(allowSoftware: boolean, float16: boolean): Promise<Outcome> {
  if (float16) requestShaderF16();
  const probe = await probeWebgpu();
  if (!probe.ok) return probe;
  const { adapter } = probe;
  if (adapter.software && !allowSoftware) {
    return {
      ok: false,
      why: `only a software adapter (${describeGpuAdapter(adapter)}), slower than WASM; ask for backend 'webgpu' to use it anyway`,
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
function candidates(
  requested: string | undefined,
  opts: InitBackendOptions,
  precision: Precision | undefined,
): Candidate[] {
  const soft = (id: string) => opts.allowSoftware === true || requested === id;
  return [
    {
      id: 'webgpu',
      label: 'webgpu',
      start: () => startWebgpu(soft('webgpu'), precision === 'float16'),
    },
    { id: 'webgl', label: 'webgl', start: () => startWebgl(soft('webgl')) },
    { id: 'wasm', label: 'wasm', start: () => startWasm(opts.wasmPaths, opts.threads) },
    { id: 'cpu', label: 'cpu', start: () => startCpu() },
  ];
}

async function select(opts: InitBackendOptions): Promise<BackendInfo> {
  check(opts !== null && typeof opts === 'object', 'BAD_OPTION', 'initBackend options must be an object');
  if (opts.threads !== undefined) checkNumber(opts.threads, 'threads', { min: 1, integer: true });
  const requested = opts.backend?.trim().toLowerCase() || undefined;
  const precision = parsePrecision(opts.precision, 'the precision option');
  const { started: _, ...chosen } = await selectBackend<Found>({
    candidates: candidates(requested, opts, precision),
    requested,
    raw: requested,
    strict: opts.strict,
    startOther: activate,
    selfTest: opts.selfTest === false ? undefined : () => selfTest(),
    untestedWhy: 'self-test skipped (selfTest: false)',
    honoured: 'requested by the backend option',
    failed: `requested "${requested}" failed`,
  });
  return { ...chosen, ...applyPrecision(precision, 'the precision option', opts.strict) };
}

const selector = backendSelector(select);

/**
 * Picks and activates the fastest TF.js backend this browser runs correctly — WebGPU on a
 * hardware adapter, then WebGL on a hardware renderer, then WASM (with cnnviz's kernel fixes),
 * then CPU — checks it against a closed form (gradients and guided backprop included),
 * installs cnnviz's kernel fixes for it, and says why (`backendInfo()`). Calls are serialised;
 * a later call selects again.
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  return selector.initBackend(opts);
}

/** What `initBackend` chose and why; before it has run, the TF.js default with an empty history. */
export function backendInfo(): BackendInfo {
  const info = selector.backendInfo();
  return 'precision' in info ? info : { ...info, ...currentPrecision() };
}
