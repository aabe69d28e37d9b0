export * from './backend.js';
export * from './image-io.js';
export { selfTest, type SelfTestResult } from './self-test.js';
export type { GpuAdapterInfo } from './webgpu.js';
export { glob, hasMagic } from './cli/glob.js';
