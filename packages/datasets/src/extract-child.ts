// A child process for the crash tests: `node --import tsx extract-child.ts <images> <store> <table> <batch>`.
// It prints "batch" after each commit so the test can SIGKILL it at chosen points.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { zoo } from '@cnnviz/models';
import { extractToStore } from './extract-to-store.js';

const [images, store, table, batch] = process.argv.slice(2);
await tf.setBackend('cpu');
const model = await zoo.fashionCnn();
const summary = await extractToStore(model, images, {
  store,
  table,
  layer: 'dense1',
  modelName: 'fashion-cnn',
  batchSize: Number(batch),
  commitRows: Number(batch),
  onProgress: (p) => process.stdout.write(`batch ${p.stored}\n`),
});
process.stdout.write(`${JSON.stringify(summary)}\n`);
