/* global console, require, process */
// CommonJS consumer: `require` resolves the packages' "require" conditions (dist/index.cjs).
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports */
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-wasm');
const core = require('@cnnviz/core');
const models = require('@cnnviz/models');
const attribution = require('@cnnviz/attribution');
const synthesis = require('@cnnviz/synthesis');
const { runChecks } = require('./assertions.cjs');

runChecks({ tf, core, models, attribution, synthesis }, 'cjs').then(
  (summary) => console.log(summary),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
