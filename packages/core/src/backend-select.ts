import * as tf from '@tensorflow/tfjs-core';
import { silenceFirstUseNotice } from './first-use-notice.js';
import { CnnvizError } from './errors.js';
import { registerKernelFixes } from './kernels/index.js';
import { activePrecision, type Precision, setWebgpuPrecision } from './kernels/webgpu-float16.js';
import { check } from './validate.js';

/** One candidate backend as `initBackend` tried it. */
export interface TriedBackend {
  name: string;
  ok: boolean;
  why: string;
}

/** What a backend selection chose and why (the adapters' `BackendInfo` adds what they know of the device). */
export interface ChosenBackend {
  name: string;
  reason: string;
  fixes: string[];
  tried: TriedBackend[];
}

/** A started backend with what its adapter learnt (`E`), or why it could not start. */
export type BackendStart<E> = ({ ok: true; name: string } & E) | { ok: false; why: string };

export interface BackendCandidate<E> {
  /** The name that requests it. */
  id: string;
  /** The name `tried` and the reason use. */
  label: string;
  start(): Promise<BackendStart<E>>;
}

export interface SelectBackendOptions<E> {
  /** In order of preference. */
  candidates: BackendCandidate<E>[];
  /** The candidate id asked for; a name no candidate has is started with `startOther`. */
  requested?: string;
  /** The request as the user wrote it, for messages. */
  raw?: string;
  /** Only the requested backend, no fallback. */
  strict?: boolean;
  startOther(name: string): Promise<BackendStart<E>>;
  /** Checks the started backend; without one every started backend is accepted with `untestedWhy`. */
  selfTest?: () => Promise<{ ok: boolean; why: string }>;
  untestedWhy?: string;
  /** The reason's words for a request that was honoured, and for one that failed. */
  honoured: string;
  failed: string;
}

/** The first line of an error's message: what a backend reason quotes of a failure. */
export function errorFirstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/**
 * `tf.setBackend(name)` without tfjs's console output: tfjs logs a factory's failure with
 * `console.warn`, while the adapters report it once, in `BackendInfo.tried`; and the CPU backend's
 * notice that a faster Node backend exists is not printed for a backend cnnviz chose.
 */
export async function activateBackend(name: string): Promise<BackendStart<object>> {
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
    // Chosen on purpose, and said so in backendInfo().
    silenceFirstUseNotice(name);
    return { ok: true, name };
  } catch (e) {
    return { ok: false, why: `tf.setBackend('${name}') threw: ${errorFirstLine(e)}` };
  } finally {
    console.warn = warn;
  }
}

/**
 * Starts the candidates in order (the requested one first), installs core's kernel fixes on each
 * and keeps the first that passes the self-test, with what its adapter learnt (`E`'s defined fields); throws
 * BACKEND with every failure when none does.
 * Shared by `@cnnviz/node` and `@cnnviz/web`, which supply the candidates and the self-test.
 */
export async function selectBackend<E>(
  opts: SelectBackendOptions<E>,
): Promise<ChosenBackend & Partial<E> & { started: { ok: true; name: string } & E }> {
  const { candidates, requested, raw, strict } = opts;
  // Candidates are self-tested in float32; the adapter applies the precision asked for afterwards (applyPrecision).
  setWebgpuPrecision('float32');
  let order = candidates;
  if (requested) {
    const chosen = candidates.filter((c) => c.id === requested);
    const first: BackendCandidate<E>[] = chosen.length
      ? chosen
      : [{ id: requested, label: requested, start: () => opts.startOther(requested) }];
    order = [...first, ...candidates.filter((c) => c.id !== requested)];
  }
  const tried: TriedBackend[] = [];
  for (const c of order) {
    if (requested && strict && c.id !== requested) break;
    const started = await c.start();
    if (!started.ok) {
      tried.push({ name: c.label, ok: false, why: started.why });
      continue;
    }
    const fixes = registerKernelFixes(started.name);
    let why = opts.untestedWhy ?? 'no self-test';
    if (opts.selfTest) {
      const test = await opts.selfTest();
      if (!test.ok) {
        tried.push({ name: c.label, ok: false, why: `self-test failed: ${test.why}` });
        continue;
      }
      why = test.why;
    }
    tried.push({ name: c.label, ok: true, why });
    const skipped = tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.why}`);
    const how = !requested
      ? 'fastest available backend that passed the self-test'
      : c.id === requested
        ? opts.honoured
        : `${opts.failed}; fell back to the fastest backend that passed the self-test`;
    return {
      name: started.name,
      reason: `${c.label}: ${how}${skipped.length ? `. Skipped: ${skipped.join('; ')}` : ''}`,
      fixes,
      tried,
      // What the adapter learnt (its adapter, renderer, threads), where it learnt anything.
      ...(Object.fromEntries(
        Object.entries(started).filter(([k, v]) => k !== 'ok' && k !== 'name' && v !== undefined),
      ) as Partial<E>),
      started,
    };
  }
  throw new CnnvizError(
    'BACKEND',
    `no usable TF.js backend${requested && strict ? ` ("${raw}" requested, strict)` : ''}: ${tried
      .map((t) => `${t.name}: ${t.why}`)
      .join('; ')}`,
  );
}

/**
 * An adapter's `initBackend` / `backendInfo` pair around its `select`: calls are serialised (a later
 * call selects again), and `backendInfo` notices a backend changed behind its back.
 */
export function backendSelector<O, I extends ChosenBackend>(
  select: (opts: O) => Promise<I>,
): { initBackend(opts: O): Promise<I>; backendInfo(): I | ChosenBackend } {
  let current: I | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  return {
    async initBackend(opts) {
      const run = queue.then(() => select(opts));
      queue = run.catch(() => undefined);
      current = await run;
      return current;
    },
    backendInfo() {
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
    },
  };
}

const PRECISIONS: readonly Precision[] = ['float32', 'float16'];

/** The precision an adapter's `initBackend` applied, and why (float32 where float16 was asked for but is not possible). */
export interface PrecisionChoice {
  precision: Precision;
  precisionReason: string;
}

/** A precision request (`value` from `source`: an option or an environment variable), checked: BAD_OPTION unless 'float32' or 'float16'. */
export function parsePrecision(value: unknown, source: string): Precision | undefined {
  if (value === undefined) return undefined;
  const v = typeof value === 'string' ? value.trim().toLowerCase() : value;
  check(
    PRECISIONS.includes(v as Precision),
    'BAD_OPTION',
    () => `${source} must be 'float32' or 'float16', got ${JSON.stringify(value)}`,
  );
  return v as Precision;
}

/**
 * Applies a checked precision request (`parsePrecision`) to the active backend (`setWebgpuPrecision`) and says what
 * is in effect. With `strict`, float16 that cannot run throws BACKEND instead of falling back to float32.
 */
export function applyPrecision(
  wanted: Precision | undefined,
  source: string,
  strict: boolean | undefined,
): PrecisionChoice {
  const { precision, why } = setWebgpuPrecision(wanted ?? 'float32');
  if (wanted === undefined) return { precision, precisionReason: why };
  if (strict && precision !== wanted) {
    throw new CnnvizError('BACKEND', `${wanted} requested by ${source} (strict): ${why}`);
  }
  return {
    precision,
    precisionReason:
      wanted === 'float32' ? `float32 (requested by ${source})` : `${why} (requested by ${source})`,
  };
}

/** The precision in effect where no `initBackend` set it (before one ran, or after a backend change behind its back). */
export function currentPrecision(): PrecisionChoice {
  const precision = activePrecision();
  return {
    precision,
    precisionReason:
      precision === 'float32'
        ? 'float32 (the default)'
        : 'float16, set by setWebgpuPrecision outside initBackend',
  };
}
