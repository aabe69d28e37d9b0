// Vitest setup (vitest.config.ts `setupFiles`): the tests pick TF.js's CPU backend on purpose, so its one-time
// "install our node backend" notice, printed on the backend's first use, is switched off here rather than repeated
// under every test file. (Not PROD or IS_TEST: those silence every tfjs warning, or change what the engine checks.)
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
