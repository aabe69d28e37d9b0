import { check } from '@cnnviz/core';

/** What a forward pass needs of a layer's output: every channel, or only these last-axis indices. */
export type ChannelNeed = 'all' | Set<number>;

/** A layer of the executed graph, in dependency order (what `channelNeeds` reads of it). */
export interface NeedStep {
  name: string;
  cls: string;
  cfg: Record<string, unknown>;
  inputs: string[];
}

/** Layers that act on each channel alone at inference time, so a channel set passes through them. */
const PER_CHANNEL = new Set([
  'InputLayer',
  'Dropout',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'ActivityRegularization',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'BatchNormalization',
  'Activation',
]);

/** Activations that mix channels. */
const MIXING_ACTIVATIONS = new Set(['softmax', 'logsoftmax']);

function isLastAxis(axis: unknown, rank: number | undefined): boolean {
  const a = Number(axis ?? -1);
  return a === -1 || (rank !== undefined && a === rank - 1);
}

function perChannel(s: NeedStep, rank: number | undefined): boolean {
  if (!PER_CHANNEL.has(s.cls) || s.inputs.length !== 1) return false;
  if (s.cls === 'BatchNormalization') return isLastAxis(s.cfg.axis, rank);
  if (s.cls === 'Activation') {
    const a = s.cfg.activation;
    const name = typeof a === 'string' ? a : 'unknown';
    return name !== 'unknown' && !MIXING_ACTIVATIONS.has(name.toLowerCase());
  }
  return true;
}

/** Checks `ForwardOptions.channels` and turns it into the needs of the taps. */
export function tapNeeds(taps: string[], channels: unknown): Map<string, ChannelNeed> {
  check(
    channels === undefined || (typeof channels === 'object' && channels !== null),
    'BAD_OPTION',
    'forward option channels must be an object { [tap]: channel indices }',
  );
  const byTap = (channels ?? {}) as Record<string, unknown>;
  const needs = new Map<string, ChannelNeed>();
  for (const t of taps) {
    const c = byTap[t];
    check(
      c === undefined ||
        (Array.isArray(c) && c.every((k) => typeof k === 'number' && Number.isInteger(k) && k >= 0)),
      'BAD_OPTION',
      () =>
        `forward option channels["${t}"] must be an array of non-negative integers, got ${JSON.stringify(c)}`,
    );
    const prev = needs.get(t);
    needs.set(t, c === undefined || prev === 'all' ? 'all' : new Set([...(prev ?? []), ...(c as number[])]));
  }
  return needs;
}

/**
 * What each layer must compute so that the `wanted` outputs are right: walks the graph from the
 * outputs back to the input (Lucid-style feature visualisation reads one channel of a layer, and
 * when that layer concatenates branches, the others are dead work). A channel set passes unchanged
 * through per-channel layers (BatchNorm, activations, dropout) and splits at a last-axis
 * Concatenate into offset sets for the inputs that hold those channels; an input that holds none
 * is not needed (the caller fills its place with zeros). Any other layer needs all of its inputs.
 * Layers missing from the result need not run. `rankOf`/`channelsOf` give a layer's output rank
 * and channel count when known.
 */
export function channelNeeds(
  steps: readonly NeedStep[],
  wanted: Map<string, ChannelNeed>,
  rankOf: (name: string) => number | undefined,
  channelsOf: (name: string) => number | undefined,
): Map<string, ChannelNeed> {
  const needs = new Map(wanted);
  const merge = (name: string, n: ChannelNeed) => {
    const prev = needs.get(name);
    if (prev === 'all' || n === 'all' || prev === undefined) needs.set(name, prev === undefined ? n : 'all');
    else needs.set(name, new Set([...prev, ...n]));
  };
  // Every consumer of a layer comes after it, so a reverse pass sees all of a layer's needs before it.
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i];
    const n = needs.get(s.name);
    if (n === undefined || s.inputs.length === 0) continue;
    if (n !== 'all' && perChannel(s, rankOf(s.name))) {
      merge(s.inputs[0], n);
      continue;
    }
    const split = n === 'all' ? undefined : splitConcat(s, n, rankOf(s.name), channelsOf);
    if (split) split.forEach((sub, k) => sub.size > 0 && merge(s.inputs[k], sub));
    else s.inputs.forEach((name) => merge(name, 'all'));
  }
  return needs;
}

/** The channel sets a last-axis Concatenate's inputs must supply, or undefined when it cannot be split. */
function splitConcat(
  s: NeedStep,
  n: Set<number>,
  rank: number | undefined,
  channelsOf: (name: string) => number | undefined,
): Set<number>[] | undefined {
  if (s.cls !== 'Concatenate' || !isLastAxis(s.cfg.axis, rank) || n.size === 0) return undefined;
  const counts = s.inputs.map(channelsOf);
  if (counts.some((c) => c === undefined)) return undefined;
  const total = (counts as number[]).reduce((a, b) => a + b, 0);
  // An out-of-range channel: compute everything and let the reader report it.
  if ([...n].some((c) => c >= total)) return undefined;
  let offset = 0;
  return (counts as number[]).map((c) => {
    const sub = new Set([...n].filter((k) => k >= offset && k < offset + c).map((k) => k - offset));
    offset += c;
    return sub;
  });
}
