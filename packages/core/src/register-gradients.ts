/**
 * tfjs-core's Node entry registers no gradients; tfjs-layers imports
 * `@tensorflow/tfjs-core/dist/register_all_gradients` in its ESM build and bundles the same
 * registrations in its CJS build, so importing it once makes `tf.grad` work in every runtime.
 * The gradient registry is a process-wide global, so one copy of tfjs-layers serves every copy
 * of tfjs-core.
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { avgPoolGradient } from './gradient-fixes/avg-pool.js';

// Replaces stock gradients that are wrong (see each file); process-wide like the rest.
tf.registerGradient(avgPoolGradient);
