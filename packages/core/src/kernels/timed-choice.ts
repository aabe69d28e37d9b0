/** Options of `timedChoice`. */
export interface TimedChoiceOptions {
  /** Timed runs of each way before the first decision (after one untimed warm-up run of each). Default 3. */
  samples?: number;
  /**
   * Once decided, the other way is sampled again (`samples` runs, its old times dropped) from every `recheck`-th call
   * of a key. Default 100.
   */
  recheck?: number;
  /** Clock in ms (default `performance.now`); injectable for tests. */
  now?: () => number;
}

/** Runs one of two ways that compute the same result, per key the one that has been faster lately. */
export interface TimedChoice {
  run<T>(key: string, a: () => T, b: () => T): T;
  /** Leaves `ms` out of the run being timed: one-time set-up (a cache miss) says nothing about the way's speed. */
  exclude(ms: number): void;
}

interface KeyState {
  calls: number;
  warm: [boolean, boolean];
  times: [number[], number[]];
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];

/**
 * Chooses between two implementations by timing them as they run, per key (e.g. a convolution's shapes): each runs
 * once untimed (set-up costs), then `samples` times, then the one with the lower median runs, the other sampled afresh
 * every `recheck` calls so that the choice follows the machine's load. Why: Winograd's many small XNNPACK calls are
 * fastest on an idle machine but each waits for the thread pool, which on a busy one costs more than it saves
 * (bench/results/winograd-2026-12-05.md); which wins is a property of the moment, not of the shape.
 */
export function timedChoice(options: TimedChoiceOptions = {}): TimedChoice {
  const samples = options.samples ?? 3;
  const recheck = options.recheck ?? 100;
  const now = options.now ?? (() => performance.now());
  const states = new Map<string, KeyState>();
  let excluded = 0;
  return {
    run<T>(key: string, a: () => T, b: () => T): T {
      let st = states.get(key);
      if (st === undefined) {
        st = { calls: 0, warm: [false, false], times: [[], []] };
        states.set(key, st);
      }
      st.calls++;
      const ways = [a, b];
      const untimed = st.warm.indexOf(false);
      if (untimed >= 0) {
        st.warm[untimed] = true;
        return ways[untimed]();
      }
      const [ta, tb] = st.times;
      let pick: 0 | 1;
      if (ta.length < samples || tb.length < samples) pick = ta.length <= tb.length ? 0 : 1;
      else {
        const best = median(ta) <= median(tb) ? 0 : 1;
        pick = best;
        if (st.calls % recheck === 0) {
          // The other way's samples are old (the first ones were taken while the heap and caches were cold, and
          // one slow run in a window of three decided for good): it is sampled afresh, `samples` runs in a row.
          pick = (1 - best) as 0 | 1;
          st.times[pick] = [];
        }
      }
      excluded = 0;
      const t0 = now();
      const y = ways[pick]();
      const list = st.times[pick];
      list.push(now() - t0 - excluded);
      if (list.length > samples) list.shift();
      return y;
    },
    exclude(ms: number): void {
      excluded += ms;
    },
  };
}

/** A way of our own for one call, named by a key for the timed choice (a convolution's geometry, say). */
export interface Plan<T> {
  key: string;
  run: () => T;
}

/**
 * `plan` where there is one, else `other`. With one thread, plan always: nothing competes for the cores, ours were
 * measured faster per core, and every call gives the same bits. With several, timed against `other` per key: our
 * kernels share their work with helper threads that compete with XNNPACK's spinning pool, which on a busy machine can
 * cost more than they save.
 */
export function runPlan<T>(
  choice: TimedChoice,
  threads: number,
  plan: Plan<T> | undefined,
  other: () => T,
): T {
  if (plan === undefined) return other();
  return threads <= 1 ? plan.run() : choice.run(plan.key, plan.run, other);
}
