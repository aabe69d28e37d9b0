/**
 * Helper threads for this package's own WebAssembly kernels, sharing tfjs-backend-wasm's heap.
 *
 * Why: tfjs-backend-wasm runs only XNNPACK's kernels on its thread pool; a kernel of ours (the Winograd matrix
 * products) ran on one thread and, on two cores, lost to XNNPACK's two-thread kernel what it gained per core. The
 * threaded build's memory is a SharedArrayBuffer, so a Node worker can instantiate the same module on the same memory
 * and take a share of a call's work (chunks handed out by an atomic counter on the heap) beside the calling thread.
 *
 * Node only (`worker_threads`, and a calling thread that may block in `Atomics.wait`); elsewhere `wasmThreads`
 * returns undefined and kernels run on one thread.
 */

/**
 * A helper's control words (Int32): job sequence, job state, function id, argument count, then the arguments. A job
 * is POSTED; the helper claims it (RUNNING, then DONE) or the caller, finished first, withdraws it (WITHDRAWN): a
 * helper that the OS has not yet scheduled then costs nothing, as the called functions share their work dynamically.
 */
const SEQ = 0;
const STATE = 1;
const FN = 2;
const ARGC = 3;
const ARGS = 4;
const MAX_ARGS = 12;
const POSTED = 1;
const RUNNING = 2;
const DONE = 3;
const FAILED = 4;
const WITHDRAWN = 5;

const WORKER_SOURCE = `
// Not require: an eval'd worker inherits the parent's --input-type, and may run as a module.
const { workerData, receiveMessageOnPort } = process.getBuiltinModule('node:worker_threads');
const { memory, control, port } = workerData;
const ctl = new Int32Array(control);
const fns = [];
const instances = new Map();
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const { id, moduleId, module, name } = m.message;
    let instance = instances.get(moduleId);
    if (instance === undefined) {
      instance = new WebAssembly.Instance(module, { env: { mem: memory } });
      instances.set(moduleId, instance);
    }
    fns[id] = instance.exports[name];
  }
  if (Atomics.compareExchange(ctl, ${STATE}, ${POSTED}, ${RUNNING}) !== ${POSTED}) continue;
  let state = ${DONE};
  try {
    const args = [];
    for (let i = 0; i < ctl[${ARGC}]; i++) args.push(ctl[${ARGS} + i]);
    fns[ctl[${FN}]](...args);
  } catch {
    state = ${FAILED};
  }
  Atomics.store(ctl, ${STATE}, state);
  Atomics.notify(ctl, ${STATE});
}
`;

interface NodeWorker {
  unref(): void;
  on(event: 'error', listener: (e: unknown) => void): void;
}
interface WorkerThreads {
  Worker: new (src: string, opts: { eval: true; workerData: unknown; transferList: unknown[] }) => NodeWorker;
  MessageChannel: new () => { port1: { postMessage(m: unknown): void; unref(): void }; port2: unknown };
}

interface Helper {
  ctl: Int32Array;
  post(m: unknown): void;
}

/** A function of a module, callable on helper threads by its id. */
export interface ThreadedFunction {
  id: number;
  moduleId: number;
  module: WebAssembly.Module;
  name: string;
}

let nextFunctionId = 0;
let nextModuleId = 0;
const moduleIds = new WeakMap<WebAssembly.Module, number>();

/** Names export `name` of `module` for `WasmThreads.run`. */
export function threadedFunction(module: WebAssembly.Module, name: string): ThreadedFunction {
  let moduleId = moduleIds.get(module);
  if (moduleId === undefined) {
    moduleId = nextModuleId++;
    moduleIds.set(module, moduleId);
  }
  return { id: nextFunctionId++, moduleId, module, name };
}

export class WasmThreads {
  private readonly known = new Set<number>();
  /** Helper threads, besides the calling one. */
  get helpers(): number {
    return this.workers.length;
  }

  constructor(private readonly workers: Helper[]) {}

  /**
   * Posts `fn(...args)` to every helper, runs `local()` (the same call, on this thread), then withdraws the posts no
   * helper has taken yet and waits for the ones taken. `fn` must share its work dynamically (an atomic counter), so
   * that the result does not depend on which threads took part.
   */
  run(fn: ThreadedFunction, args: number[], local: () => void): void {
    if (args.length > MAX_ARGS) throw new Error(`at most ${MAX_ARGS} arguments`);
    if (!this.known.has(fn.id)) {
      for (const w of this.workers)
        w.post({ id: fn.id, moduleId: fn.moduleId, module: fn.module, name: fn.name });
      this.known.add(fn.id);
    }
    for (const { ctl } of this.workers) {
      ctl[FN] = fn.id;
      ctl[ARGC] = args.length;
      args.forEach((a, j) => (ctl[ARGS + j] = a));
      Atomics.store(ctl, STATE, POSTED);
      Atomics.add(ctl, SEQ, 1);
      Atomics.notify(ctl, SEQ);
    }
    let error: unknown;
    try {
      local();
    } catch (e) {
      error = e;
    }
    for (const { ctl } of this.workers) {
      if (Atomics.compareExchange(ctl, STATE, POSTED, WITHDRAWN) === POSTED) continue;
      for (let spin = 0; spin < 1000 && Atomics.load(ctl, STATE) === RUNNING; spin++);
      const deadline = Date.now() + 60_000;
      while (Atomics.load(ctl, STATE) === RUNNING) {
        if (Date.now() > deadline) throw new Error('a wasm helper thread stopped answering');
        Atomics.wait(ctl, STATE, RUNNING, 1000);
      }
      if (ctl[STATE] === FAILED) error ??= new Error(`wasm helper thread: ${fn.name} trapped`);
    }
    if (error !== undefined) throw error;
  }
}

const pools = new WeakMap<WebAssembly.Memory, WasmThreads | null>();
let warned = false;

/**
 * `threads − 1` helper threads on `memory` (made on first use, kept for the process; unref'd, so they never keep it
 * alive); undefined where that is impossible: not Node, memory not shared, or one thread.
 */
export function wasmThreads(memory: WebAssembly.Memory, threads: number): WasmThreads | undefined {
  if (
    threads <= 1 ||
    typeof SharedArrayBuffer !== 'function' ||
    !(memory.buffer instanceof SharedArrayBuffer)
  ) {
    return undefined;
  }
  const cached = pools.get(memory);
  if (cached !== undefined && (cached === null || cached.helpers === threads - 1)) return cached ?? undefined;
  const process = (
    globalThis as {
      process?: { getBuiltinModule?: (id: string) => unknown; emitWarning?: (message: string) => void };
    }
  ).process;
  const wt = process?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  if (wt === undefined) {
    pools.set(memory, null);
    return undefined;
  }
  const helpers: Helper[] = [];
  try {
    for (let i = 0; i < threads - 1; i++) {
      const control = new SharedArrayBuffer(4 * (ARGS + MAX_ARGS));
      const { port1, port2 } = new wt.MessageChannel();
      const worker = new wt.Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { memory, control, port: port2 },
        transferList: [port2],
      });
      // A helper that fails to start or dies never takes a job, and the caller withdraws what it posted: its calls
      // then run on the calling thread alone. Said once, not thrown from the event loop.
      worker.on('error', (e) => {
        if (warned) return;
        warned = true;
        process?.emitWarning?.(
          `cnnviz: a WASM helper thread stopped (${String(e)}); kernels run on one thread`,
        );
      });
      worker.unref();
      port1.unref();
      helpers.push({ ctl: new Int32Array(control), post: (m) => port1.postMessage(m) });
    }
  } catch {
    // A runtime whose worker_threads cannot run an eval'd worker (Deno, Bun): one thread.
    pools.set(memory, null);
    return undefined;
  }
  const pool = new WasmThreads(helpers);
  pools.set(memory, pool);
  return pool;
}
