import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes, unregisterKernelFixes } from './index.js';

/** wasm with cnnviz's fixes, cpu stock (the reference). */
export async function setupBackends(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
  registerKernelFixes('wasm');
  unregisterKernelFixes('cpu');
}
