import * as tf from '@tensorflow/tfjs-core';

/**
 * Switches off the "install our node backend" notice TF.js's CPU backend prints on its first use in Node. For a
 * backend cnnviz (or a test) chose on purpose, and said so, the notice would only interrupt the output. Not PROD or
 * IS_TEST: those silence every tfjs warning, or change what the engine checks.
 */
export function silenceFirstUseNotice(name: string): void {
  const backend = tf.findBackend(name) as { firstUse?: boolean } | null;
  if (backend && 'firstUse' in backend) backend.firstUse = false;
}
