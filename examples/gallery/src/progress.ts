/** A one-line progress bar per technique on stderr when it is a TTY; one line per technique otherwise. */
export interface Progress {
  update(done: number, total: number, note?: string): void;
  finish(summary: string): void;
}

export function progress(label: string, enabled = true): Progress {
  const tty = enabled && process.stderr.isTTY === true;
  const start = Date.now();
  let last = 0;
  return {
    update(done, total, note) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 24;
      const fill = Math.round(frac * width);
      const secs = ((now - start) / 1000).toFixed(1);
      const line = `${label.padEnd(28)} ${'█'.repeat(fill)}${'░'.repeat(width - fill)} ${String(Math.round(frac * 100)).padStart(3)}% ${secs}s${note ? ` ${note}` : ''}`;
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
    },
    finish(summary) {
      if (tty) process.stderr.write('\r\x1b[K');
      if (enabled) process.stderr.write(`${summary}\n`);
    },
  };
}
