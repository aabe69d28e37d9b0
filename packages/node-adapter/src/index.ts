export * from './backend.js';
export * from './image-io.js';
export { selfTest, type SelfTestResult } from '@cnnviz/core';
export type { GpuAdapterInfo } from '@cnnviz/core';
export { glob, hasMagic } from './cli/glob.js';
