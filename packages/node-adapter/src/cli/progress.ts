/** A one-line progress bar on a TTY stream; silent elsewhere so pipes and logs stay clean. */
export interface ProgressBar {
  /** `done` of `total` units; `note` (e.g. a loss) goes after the count. */
  update(done: number, total: number, note?: string): void;
  /** Clears the line (or, with `message`, replaces it with a final line). */
  done(message?: string): void;
}

interface TtyLike {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

const NOOP: ProgressBar = { update() {}, done() {} };

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/**
 * A progress bar labelled `label` on `stream` (default stderr), redrawn at most every 100 ms. When
 * the stream is not a TTY, or `enabled` is false, it does nothing.
 */
export function progressBar(label: string, opts: { stream?: TtyLike; enabled?: boolean } = {}): ProgressBar {
  const stream = opts.stream ?? (process.stderr as TtyLike);
  if (opts.enabled === false || !stream.isTTY) return NOOP;
  const start = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(done, total, note) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
      const elapsed = now - start;
      const eta = frac > 0 && frac < 1 ? ` eta ${formatSeconds((elapsed / frac) * (1 - frac))}` : '';
      const tail = ` ${String(Math.round(frac * 100)).padStart(3)}% ${done}/${total} ${formatSeconds(elapsed)}${eta}${note ? ` ${note}` : ''}`;
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - label.length - tail.length - 4));
      const filled = Math.round(frac * width);
      const line = `${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)}${tail}`;
      stream.write(`\r${line.slice(0, (stream.columns ?? 200) - 1)}\x1b[K`);
      drawn = true;
    },
    done(message) {
      if (drawn) stream.write('\r\x1b[K');
      if (message) stream.write(`${message}\n`);
      drawn = false;
    },
  };
}
