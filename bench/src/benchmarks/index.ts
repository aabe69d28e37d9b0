import type { Benchmark } from '../harness.js';
import { atlas } from './atlas.js';
import { ATTRIBUTION } from './attribution.js';
import { EMBEDDING } from './embedding.js';
import { GPU } from './gpu.js';
import { mobilenetV2 } from './mobilenet-v2.js';
import { SYNTHESIS } from './synthesis.js';
import { vgg16 } from './vgg16.js';
import { ZOO } from './zoo.js';

/** Every benchmark `npm run bench` knows, in the order it runs them. */
export const BENCHMARKS: Benchmark[] = [
  ...ATTRIBUTION,
  ...SYNTHESIS,
  atlas,
  ...EMBEDDING,
  ...ZOO,
  mobilenetV2,
  vgg16,
  ...GPU,
];
