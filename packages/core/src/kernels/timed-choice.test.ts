import { describe, expect, it } from 'vitest';
import { runPlan, timedChoice } from './timed-choice.js';

/** Two ways whose run times (ms on a fake clock) the test sets; each returns its name and is counted. */
function ways() {
  let clock = 0;
  const cost = { a: 10, b: 5 };
  const runs: string[] = [];
  const way = (name: 'a' | 'b') => () => {
    clock += cost[name];
    runs.push(name);
    return name;
  };
  return { now: () => clock, cost, runs, a: way('a'), b: way('b') };
}

describe('timedChoice', () => {
  it('warms each way up untimed, samples both, then runs the faster, resampling the other every `recheck` calls', () => {
    const w = ways();
    const choice = timedChoice({ samples: 3, recheck: 10, now: w.now });
    for (let i = 0; i < 30; i++) choice.run('k', w.a, w.b);
    // 2 warm-up calls, 6 alternating samples, then b, except that calls 10, 20 and 30 start 3 fresh runs of a.
    expect(w.runs.slice(0, 8)).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    const aCalls = w.runs.flatMap((r, i) => (r === 'a' && i >= 8 ? [i + 1] : []));
    expect(aCalls).toEqual([10, 11, 12, 20, 21, 22, 30]);
  });

  it('a way whose first samples were slow (cold caches) wins once it is resampled', () => {
    const w = ways();
    w.cost.a = 20; // a's first runs: cold
    const choice = timedChoice({ samples: 3, recheck: 10, now: w.now });
    for (let i = 0; i < 9; i++) choice.run('k', w.a, w.b);
    expect(w.runs.at(-1)).toBe('b');
    w.cost.a = 2; // warm now: faster than b
    for (let i = 0; i < 4; i++) choice.run('k', w.a, w.b); // calls 10-12 resample a, call 13 decides
    expect(w.runs.slice(-4)).toEqual(['a', 'a', 'a', 'a']);
  });

  it('leaves excluded set-up time out of a sample (a cache miss of the way that is really faster)', () => {
    const w = ways();
    w.cost.a = 2;
    const choice = timedChoice({ samples: 3, now: w.now });
    // Every sample of a pays 40 ms of set-up (a new filter of the same geometry each time), reported as excluded.
    const aWithSetUp = () => {
      w.cost.a = 42;
      const y = w.a();
      choice.exclude(40);
      w.cost.a = 2;
      return y;
    };
    for (let i = 0; i < 9; i++) choice.run('k', aWithSetUp, w.b);
    expect(w.runs.at(-1)).toBe('a');
  });

  it('follows a change of speed: the chosen way is timed on every call', () => {
    const w = ways();
    const choice = timedChoice({ samples: 3, recheck: 1000, now: w.now });
    for (let i = 0; i < 12; i++) choice.run('k', w.a, w.b);
    expect(w.runs.at(-1)).toBe('b');
    w.cost.b = 50; // b's machine got busy
    for (let i = 0; i < 3; i++) choice.run('k', w.a, w.b);
    expect(w.runs.slice(-1)).toEqual(['a']);
  });

  it('decides per key, and returns what the way returned', () => {
    const w = ways();
    const choice = timedChoice({ samples: 1, now: w.now });
    const slowB = () => {
      w.cost.b = 100;
      return w.b();
    };
    for (let i = 0; i < 4; i++) choice.run('fast-b', w.a, w.b);
    expect(choice.run('fast-b', w.a, w.b)).toBe('b');
    for (let i = 0; i < 4; i++) choice.run('slow-b', w.a, slowB);
    w.cost.b = 5;
    expect(choice.run('slow-b', w.a, slowB)).toBe('a');
  });

  it('runPlan: on one thread always the plan, without one the other way, on several the timed choice', () => {
    const w = ways();
    w.cost.a = 50; // the plan is slower here: one thread runs it anyway, several time it out
    const choice = timedChoice({ samples: 1, now: w.now });
    const plan = { key: 'k', run: w.a };
    for (let i = 0; i < 5; i++) expect(runPlan(choice, 1, plan, w.b)).toBe('a');
    expect(runPlan(choice, 1, undefined, w.b)).toBe('b');
    for (let i = 0; i < 4; i++) runPlan(choice, 2, plan, w.b);
    expect(runPlan(choice, 2, plan, w.b)).toBe('b');
  });
});
