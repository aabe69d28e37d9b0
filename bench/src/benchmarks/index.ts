import type { Benchmark } from '../harness.js';
import { mobilenetV2 } from './mobilenet-v2.js';
import { vgg16 } from './vgg16.js';

export const BENCHMARKS: Benchmark[] = [mobilenetV2, vgg16];
