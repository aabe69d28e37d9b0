import type { Worker } from 'node:worker_threads';

/**
 * Work sharing between threads without waiting on late ones: a counter slot holds
 * `(tag << 20) | next chunk`, where the tag is the round (generation) the chunks belong to. A
 * thread claims a chunk only while the slot still carries its round's tag, so a thread that
 * wakes after its round has ended claims nothing, and the caller can wait for *completed*
 * chunks instead of for every thread to check in (a descheduled worker on a busy machine then
 * costs nothing).
 */

/** Bits of the chunk index; up to 2^20 chunks per round. */
export const CHUNK_BITS = 20;

/** The tag of round `generation` (11 bits, so a slot stays a positive int32). */
export const roundTag = (generation: number): number => generation & 0x7ff;

/**
 * Claims the next chunk of round `tag` from `ctrl[slot]`; -1 when the round's chunks are all
 * claimed or the round is over. Self-contained (worker threads run its source text).
 */
export function claimChunk(ctrl: Int32Array, slot: number, tag: number, total: number): number {
  for (;;) {
    const cur = Atomics.load(ctrl, slot);
    if (cur >>> 20 !== tag) return -1;
    const i = cur & 0xfffff;
    if (i >= total) return -1;
    if (Atomics.compareExchange(ctrl, slot, cur, cur + 1) === cur) return i;
  }
}

/** Resolves when every worker has posted its first ("ready") message; rejects on a worker's error. */
export function workersReady(workers: Worker[]): Promise<void> {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
        }),
    ),
  ).then(() => undefined);
}
