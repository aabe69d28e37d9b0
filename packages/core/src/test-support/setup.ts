// Vitest setup (vitest.config.ts `setupFiles`): the tests pick TF.js's CPU backend on purpose, so its one-time
// notice is switched off here rather than repeated under every test file.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { silenceFirstUseNotice } from '../first-use-notice.js';

silenceFirstUseNotice('cpu');
// Made current now: a tensor created at a test file's top level, before its own setBackend, would otherwise make
// TF.js initialise the backends again and replace the silenced CPU backend with a new, noisy instance.
await tf.setBackend('cpu');
