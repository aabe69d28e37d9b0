// Vitest setup (vitest.config.ts `setupFiles`): the tests pick TF.js's CPU backend on purpose, so its one-time
// notice is switched off here rather than repeated under every test file.
import '@tensorflow/tfjs-backend-cpu';
import { silenceFirstUseNotice } from '../first-use-notice.js';

silenceFirstUseNotice('cpu');
