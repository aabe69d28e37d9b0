/* global console */
// ESM consumer: `import` resolves the packages' "import" conditions (dist/index.js).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as core from '@cnnviz/core';
import * as models from '@cnnviz/models';
import * as attribution from '@cnnviz/attribution';
import * as synthesis from '@cnnviz/synthesis';
import { runChecks } from './assertions.cjs';

console.log(await runChecks({ tf, core, models, attribution, synthesis }, 'esm'));
