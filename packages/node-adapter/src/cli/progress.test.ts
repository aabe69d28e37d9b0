import { describe, expect, it } from 'vitest';
import { progressBar } from './progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 80, writes, write: (s: string) => writes.push(s) > 0 };
}

describe('progress bar', () => {
  it('draws on a TTY and clears its line when done', () => {
    const s = stream(true);
    const bar = progressBar('dream', { stream: s });
    bar.update(5, 10, 'loss 1.5');
    bar.update(10, 10);
    bar.done('finished');
    const ESC = String.fromCharCode(27);
    expect(s.writes[0].startsWith('\rdream ')).toBe(true);
    expect(s.writes[0].endsWith(`${ESC}[K`)).toBe(true);
    expect(s.writes[0]).toMatch(/ █+░+ {2}50% 5\/10 \d+\.\ds eta \d+\.\ds loss 1\.5/);
    expect(s.writes[1]).toMatch(/100% 10\/10/);
    expect(s.writes.slice(-2)).toEqual(['\r\x1b[K', 'finished\n']);
  });

  it('writes nothing when stderr is not a TTY, or when disabled', () => {
    for (const [tty, enabled] of [
      [false, true],
      [true, false],
    ] as const) {
      const s = stream(tty);
      const bar = progressBar('x', { stream: s, enabled });
      bar.update(1, 2);
      bar.done();
      expect(s.writes).toEqual([]);
    }
  });
});
