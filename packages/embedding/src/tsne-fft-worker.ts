/**
 * Worker-thread entry of FIt-SNE's second thread (`createFftPool`): each round, its share of the
 * attraction, then (once ctrl[5] holds the round: weights and kernel written) the convolution of
 * grid b, on the caller's shared memory. ctrl[3]: the caller's publishing store; ctrl[0] = round
 * when done; on failure ctrl[1] = 1 and a message of ctrl[2] bytes from ctrl[8].
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SparseP } from './affinities.js';
import { Fft } from './fft.js';
import { convolveShare, type GridPoints, type GridShare } from './tsne-fft.js';
import { attraction } from './tsne-gradient.js';

export interface FftWorkerData {
  ctrl: Int32Array;
  y: Float64Array;
  P: SparseP;
  /** The worker's share of the attraction: rows [from, n) of P, into `attr`. */
  attr: Float64Array;
  from: number;
  points: GridPoints;
}

export interface FftRoundMessage {
  round: number;
  L: number;
  m: number;
  grids?: { b: GridShare; kRe: Float32Array };
}

const { ctrl, y, P, attr, from, points } = workerData as FftWorkerData;
let grids: FftRoundMessage['grids'];
let fft: Fft | undefined;

parentPort!.on('message', (msg: FftRoundMessage) => {
  try {
    // Pairs with the caller's atomic store: its writes before it are visible here.
    Atomics.load(ctrl, 3);
    if (msg.grids) grids = msg.grids;
    if (fft?.size !== msg.L) fft = new Fft(msg.L);
    attraction(y, P, 2, attr, from, P.n);
    // The grid needs this round's weights and kernel (ctrl[5] = round once written).
    for (;;) {
      const at = Atomics.load(ctrl, 5);
      if (at === msg.round) break;
      Atomics.wait(ctrl, 5, at, 1000);
    }
    convolveShare(1, msg, y, points, grids!.b, grids!.kRe, fft);
  } catch (e) {
    const text = new TextEncoder()
      .encode(e instanceof Error ? e.message : String(e))
      .subarray(0, 4 * (ctrl.length - 8));
    new Uint8Array(ctrl.buffer, ctrl.byteOffset + 32, text.length).set(text);
    ctrl[2] = text.length;
    Atomics.store(ctrl, 1, 1);
  }
  Atomics.store(ctrl, 0, msg.round);
  Atomics.notify(ctrl, 0);
});
parentPort!.postMessage('ready');
