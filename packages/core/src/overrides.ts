import * as tf from '@tensorflow/tfjs-core';
import './register-gradients.js';
import { CnnvizError } from './errors.js';

/** Which forward tensors the engine keeps for a gradient (tfjs-core `GradConfig` fields). */
export interface GradientSaveSpec {
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
}

/**
 * A replacement gradient: a bare `GradFunc` receives the tensors that the kernel's registered
 * gradient saves (for unary activations `saved[0]` is the input `x`); an object also says what
 * to save.
 */
export type GradientOverride = tf.GradFunc | (GradientSaveSpec & { gradFunc: tf.GradFunc });

interface Layer {
  token: object;
  config: tf.GradConfig;
}
interface Slot {
  original: tf.GradConfig | undefined;
  layers: Layer[];
}

// Shared through globalThis like tfjs-core's own registry, so two copies of @cnnviz/core in one
// process still restore each other's overrides correctly.
const SLOTS_KEY = Symbol.for('cnnviz.gradientOverrides');
const slots: Map<string, Slot> = ((globalThis as Record<symbol, unknown>)[SLOTS_KEY] ??= new Map()) as Map<
  string,
  Slot
>;

// What a bare GradFunc gets saved when the kernel has no registered gradient to copy from.
const DEFAULT_SAVE: Record<string, GradientSaveSpec> = {
  Relu: { inputsToSave: ['x'] },
  Relu6: { inputsToSave: ['x'] },
  LeakyRelu: { inputsToSave: ['x'] },
  ClipByValue: { inputsToSave: ['x'] },
  Elu: { outputsToSave: [true] },
};

function currentGradient(kernelName: string): tf.GradConfig | undefined {
  return tf.getGradient(kernelName) ?? undefined;
}

function toConfig(
  kernelName: string,
  override: GradientOverride,
  base: tf.GradConfig | undefined,
): tf.GradConfig {
  if (typeof override === 'function') {
    const spec = base ?? DEFAULT_SAVE[kernelName];
    if (spec === undefined) {
      throw new CnnvizError(
        'BAD_OPTION',
        `kernel "${kernelName}" has no registered gradient to take saved tensors from; pass { inputsToSave, gradFunc } instead of a bare function`,
      );
    }
    return {
      kernelName,
      inputsToSave: spec.inputsToSave,
      outputsToSave: spec.outputsToSave,
      saveAllInputs: spec.saveAllInputs,
      gradFunc: override,
    };
  }
  if (override === null || typeof override !== 'object' || typeof override.gradFunc !== 'function') {
    throw new CnnvizError(
      'BAD_OPTION',
      `override for kernel "${kernelName}" must be a GradFunc or { gradFunc, inputsToSave?, outputsToSave? }`,
    );
  }
  return { ...override, kernelName };
}

function install(kernelName: string, override: GradientOverride, token: object): void {
  let slot = slots.get(kernelName);
  const base = slot?.layers.at(-1)?.config ?? slot?.original ?? currentGradient(kernelName);
  const config = toConfig(kernelName, override, base);
  if (slot === undefined) {
    slot = { original: currentGradient(kernelName), layers: [] };
    slots.set(kernelName, slot);
  }
  slot.layers.push({ token, config });
  tf.registerGradient(config);
}

function uninstall(kernelName: string, token: object): void {
  const slot = slots.get(kernelName);
  if (slot === undefined) return;
  slot.layers = slot.layers.filter((l) => l.token !== token);
  const top = slot.layers.at(-1);
  if (top !== undefined) {
    tf.registerGradient(top.config);
    return;
  }
  slots.delete(kernelName);
  if (slot.original !== undefined) {
    tf.registerGradient(slot.original);
  } else if (tf.getGradient(kernelName) != null) {
    tf.unregisterGradient(kernelName);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `fn` with the gradients of some kernels replaced (e.g. `{ Relu: guidedRelu }`), then
 * restores exactly what was registered before — also when `fn` throws or its promise rejects.
 * Nestable: an inner override of the same kernel wins until it ends.
 *
 * tfjs-core looks a kernel's gradient up when the op is RECORDED on the tape (and decides then
 * which tensors to save), so `fn` must run both the forward pass and the gradient computation.
 * Kernels are replaced by name, so this reaches every tfjs-core op: tfjs-layers models,
 * GraphModels (tfjs-converter runs tfjs-core ops; fused conv+relu falls back to a plain `Relu`
 * while gradients are recorded) and hand-written code. The registry is process-global: while an
 * async `fn` is pending, other gradient computations in the same process see the override too.
 * A gradient registered by other code while the scope is open is replaced by the saved original
 * when the last scope for that kernel ends.
 */
export function withGradientOverrides<T>(overrides: Record<string, GradientOverride>, fn: () => T): T {
  if (overrides === null || typeof overrides !== 'object') {
    throw new CnnvizError('BAD_OPTION', 'overrides must be an object { kernelName: GradFunc }');
  }
  if (typeof fn !== 'function') throw new CnnvizError('BAD_OPTION', 'fn must be a function');
  const token = {};
  const names: string[] = [];
  const restore = () => {
    for (const name of names.reverse()) uninstall(name, token);
  };
  let result: T;
  try {
    for (const [name, override] of Object.entries(overrides)) {
      install(name, override, token);
      names.push(name);
    }
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (v) => {
        restore();
        return v;
      },
      (e: unknown) => {
        restore();
        throw e;
      },
    ) as T;
  }
  restore();
  return result;
}
