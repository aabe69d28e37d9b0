import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from './errors.js';
import type { ForwardOptions, ForwardResult } from './types.js';
import { check } from './validate.js';

/**
 * What to maximise, in the spirit of Lucid's objectives: which layers to tap and how to turn
 * a forward result into one value per batch item. Compose with `add`, `scale`, `negate`.
 */
export interface Objective {
  /** Layers whose activations `evaluate` reads; pass them to `model.forward(x, taps)`. */
  taps: string[];
  /** One value per batch item, `[N]`. */
  evaluate(out: ForwardResult): tf.Tensor1D;
  /** Readable description, e.g. `channel(mixed4a, 476)`. */
  name: string;
  /**
   * false when `evaluate` reads only `activations`, never `logits`: lets the forward pass stop at
   * the last tap (`model.forward(x, taps, { logits: false })`). Default (undefined) true.
   */
  needsLogits?: boolean;
  /**
   * The channels (last-axis indices) of each tap that `evaluate` reads, by tap name; a tap not
   * listed is read whole (the default, always safe). Lets a model skip the branches of a
   * concatenation that feed none of them, and a convolution's other output channels (see
   * `ForwardOptions.channels`).
   */
  channels?: Record<string, readonly number[]>;
}

function checkIndex(value: unknown, name: string): asserts value is number {
  check(
    typeof value === 'number' && Number.isInteger(value) && value >= 0,
    'BAD_TARGET',
    `${name} must be a non-negative integer, got ${String(value)}`,
  );
}

function checkLayerName(layer: unknown): asserts layer is string {
  check(
    typeof layer === 'string' && layer.length > 0,
    'UNKNOWN_LAYER',
    `layer must be a non-empty layer name, got ${String(layer)}`,
  );
}

function activation(out: ForwardResult, layer: string): tf.Tensor {
  const act = out.activations[layer];
  if (act === undefined) {
    throw new CnnvizError(
      'UNKNOWN_LAYER',
      `forward result has no activation for layer "${layer}"; taps returned: ${Object.keys(out.activations).join(', ') || '(none)'}`,
    );
  }
  return act;
}

function checkChannel(act: tf.Tensor, layer: string, c: number): void {
  const channels = act.shape[act.rank - 1];
  check(
    c < channels,
    'BAD_TARGET',
    `channel ${c} is out of range for layer "${layer}", which has ${channels} channels (0..${channels - 1})`,
  );
}

/**
 * Mean activation of channel `c` over all spatial positions (Lucid's `channel`). For a
 * dense layer `[N, units]` it is the unit's value.
 */
export function channel(layer: string, c: number): Objective {
  checkLayerName(layer);
  checkIndex(c, 'channel');
  return {
    taps: [layer],
    name: `channel(${layer}, ${c})`,
    needsLogits: false,
    channels: { [layer]: [c] },
    evaluate(out) {
      const act = activation(out, layer);
      checkChannel(act, layer, c);
      return tf.tidy(() => {
        const n = act.shape[0];
        const flat = tf.reshape(act, [n, -1, act.shape[act.rank - 1]]);
        return tf.reshape(tf.mean(tf.slice(flat, [0, 0, c], [n, -1, 1]), [1, 2]), [n]) as tf.Tensor1D;
      });
    },
  };
}

/**
 * Activation of channel `c` at one spatial position (default: the centre, `floor(H/2)`,
 * `floor(W/2)`) of a `[N,H,W,C]` layer (Lucid's `neuron`).
 */
export function neuron(layer: string, c: number, y?: number, x?: number): Objective {
  checkLayerName(layer);
  checkIndex(c, 'channel');
  if (y !== undefined) checkIndex(y, 'y');
  if (x !== undefined) checkIndex(x, 'x');
  const where = y === undefined && x === undefined ? 'centre' : `${y ?? 'centre'}, ${x ?? 'centre'}`;
  return {
    taps: [layer],
    name: `neuron(${layer}, ${c}, ${where})`,
    needsLogits: false,
    channels: { [layer]: [c] },
    evaluate(out) {
      const act = activation(out, layer);
      check(
        act.rank === 4,
        'BAD_LAYER',
        `neuron() needs a spatial layer [N,H,W,C]; "${layer}" has shape [${act.shape.join(',')}] (use channel() for dense layers)`,
      );
      checkChannel(act, layer, c);
      const [n, h, w] = act.shape;
      const yy = y ?? Math.floor(h / 2);
      const xx = x ?? Math.floor(w / 2);
      check(
        yy < h && xx < w,
        'BAD_TARGET',
        `position (${yy}, ${xx}) is outside layer "${layer}", whose spatial size is ${h}x${w}`,
      );
      return tf.tidy(() => tf.reshape(tf.slice(act, [0, yy, xx, c], [n, 1, 1, 1]), [n]) as tf.Tensor1D);
    },
  };
}

/**
 * Mean of the squared activations of a layer (DeepDream's objective, Lucid's `L2` as a
 * quantity to maximise).
 */
export function layerL2(layer: string): Objective {
  checkLayerName(layer);
  return {
    taps: [layer],
    name: `layerL2(${layer})`,
    needsLogits: false,
    evaluate(out) {
      const act = activation(out, layer);
      return tf.tidy(() => {
        const n = act.shape[0];
        return tf.mean(tf.square(tf.reshape(act, [n, -1])), 1) as tf.Tensor1D;
      });
    },
  };
}

/** Alias of `layerL2`, the name DESIGN.md uses (`layer("mixed4a")`). */
export const layer = layerL2;

/** Pre-softmax score of class `k`. */
export function classLogit(k: number): Objective {
  checkIndex(k, 'class');
  return {
    taps: [],
    name: `classLogit(${k})`,
    needsLogits: true,
    evaluate(out) {
      const classes = out.logits.shape[1];
      check(
        k < classes,
        'BAD_TARGET',
        `class ${k} is out of range; the model has ${classes} classes (0..${classes - 1})`,
      );
      return tf.tidy(() => tf.reshape(tf.slice(out.logits, [0, k], [-1, 1]), [-1]) as tf.Tensor1D);
    },
  };
}

function checkObjective(o: unknown, name: string): asserts o is Objective {
  check(
    typeof o === 'object' &&
      o !== null &&
      typeof (o as Objective).evaluate === 'function' &&
      Array.isArray((o as Objective).taps),
    'BAD_OPTION',
    `${name} must be an Objective (channel(), neuron(), layerL2(), classLogit(), ...)`,
  );
}

/** The channels a sum reads: per tap, the union, unless one of the terms reads that tap whole. */
function mergeChannels(all: Objective[]): Record<string, readonly number[]> | undefined {
  const merged: Record<string, readonly number[]> = {};
  const taps = new Set(all.flatMap((o) => o.taps));
  for (const t of taps) {
    const sets = all.filter((o) => o.taps.includes(t)).map((o) => o.channels?.[t]);
    if (sets.some((c) => c === undefined)) continue;
    merged[t] = [...new Set(sets.flatMap((c) => [...c!]))].sort((a, b) => a - b);
  }
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/**
 * The `model.forward` options for evaluating `objective` on `taps` (default its own): stop at the
 * taps when it reads no logits, and say which channels it reads so that the model may skip the
 * rest. Taps in `whole` (read by something besides the objective) are read whole.
 */
export function objectiveForwardOptions(
  objective: Objective,
  taps: string[] = objective.taps,
  whole: string[] = [],
): ForwardOptions {
  const opts: ForwardOptions = { logits: objective.needsLogits !== false };
  const channels: Record<string, readonly number[]> = {};
  for (const t of taps) {
    const c = objective.channels?.[t];
    if (c !== undefined && !whole.includes(t) && objective.taps.includes(t)) channels[t] = c;
  }
  if (Object.keys(channels).length > 0) opts.channels = channels;
  return opts;
}

/** Sum of objectives. */
export function add(a: Objective, b: Objective, ...rest: Objective[]): Objective {
  const all = [a, b, ...rest];
  all.forEach((o, i) => checkObjective(o, `objective ${i + 1}`));
  return {
    taps: [...new Set(all.flatMap((o) => o.taps))],
    name: all.map((o) => o.name).join(' + '),
    // An objective that does not say counts as needing logits.
    needsLogits: all.some((o) => o.needsLogits !== false),
    channels: mergeChannels(all),
    evaluate(out) {
      return tf.tidy(() => tf.addN(all.map((o) => o.evaluate(out))) as tf.Tensor1D);
    },
  };
}

/** `k` times an objective. */
export function scale(a: Objective, k: number): Objective {
  checkObjective(a, 'objective');
  check(
    typeof k === 'number' && Number.isFinite(k),
    'BAD_OPTION',
    `scale factor must be a finite number, got ${String(k)}`,
  );
  return {
    taps: [...a.taps],
    name: `${k} * (${a.name})`,
    needsLogits: a.needsLogits,
    channels: a.channels,
    evaluate(out) {
      return tf.tidy(() => tf.mul(a.evaluate(out), k) as tf.Tensor1D);
    },
  };
}

/** Minus an objective (to minimise it). */
export function negate(a: Objective): Objective {
  checkObjective(a, 'objective');
  return {
    taps: [...a.taps],
    name: `-(${a.name})`,
    needsLogits: a.needsLogits,
    channels: a.channels,
    evaluate(out) {
      return tf.tidy(() => tf.neg(a.evaluate(out)) as tf.Tensor1D);
    },
  };
}

function parseIndex(text: string, what: string, spec: string): number {
  check(
    /^\d+$/.test(text),
    'BAD_TARGET',
    `${what} in objective "${spec}" must be a non-negative integer, got "${text}"`,
  );
  return Number(text);
}

/**
 * An objective from a string (Lucid's shorthand), or an Objective passed through:
 * - `"class:3"` → `classLogit(3)`
 * - `"layer:mixed4"` or `"mixed4"` → `layerL2("mixed4")`
 * - `"block_13_expand_relu:42"` or `"channel:block_13_expand_relu:42"` → `channel(..., 42)`
 * - `"neuron:conv1:5"` → `neuron("conv1", 5)` at the centre; `"neuron:conv1:5:3:4"` at y=3, x=4
 * Layer names may themselves contain `:`; only the trailing numeric parts are indices.
 */
export function parseObjective(spec: string | Objective): Objective {
  if (typeof spec === 'object' && spec !== null) {
    checkObjective(spec, 'objective');
    return spec;
  }
  check(
    typeof spec === 'string' && spec.trim().length > 0,
    'BAD_OPTION',
    `objective must be a string like "layer:unit" or "class:3", got ${String(spec)}`,
  );
  const s = spec.trim();
  const prefixed = /^(class|layer|channel|neuron):(.*)$/.exec(s);
  if (prefixed) {
    const [, kind, rest] = prefixed;
    check(rest.length > 0, 'BAD_OPTION', `objective "${s}" is missing its argument after "${kind}:"`);
    if (kind === 'class') return classLogit(parseIndex(rest, 'class', s));
    if (kind === 'layer') return layerL2(rest);
    if (kind === 'channel') {
      const m = /^(.+):([^:]+)$/.exec(rest);
      check(m !== null, 'BAD_OPTION', `objective "${s}" must look like "channel:LAYER:CHANNEL"`);
      return channel(m[1], parseIndex(m[2], 'channel', s));
    }
    const withPos = /^(.+):(\d+):(\d+):(\d+)$/.exec(rest);
    if (withPos) return neuron(withPos[1], Number(withPos[2]), Number(withPos[3]), Number(withPos[4]));
    const m = /^(.+):([^:]+)$/.exec(rest);
    check(m !== null, 'BAD_OPTION', `objective "${s}" must look like "neuron:LAYER:CHANNEL[:Y:X]"`);
    return neuron(m[1], parseIndex(m[2], 'channel', s));
  }
  const unit = /^(.+):(\d+)$/.exec(s);
  if (unit) return channel(unit[1], Number(unit[2]));
  return layerL2(s);
}
