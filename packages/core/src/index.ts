export * from './errors.js';
export * from './types.js';
export * from './validate.js';
export * from './kernels/index.js';
export * from './image/index.js';
export * from './random.js';
export * from './register-gradients.js';
export * from './gradients.js';
export * from './overrides.js';
export * from './overrides/guided-relu.js';
export * from './overrides/deconv-relu.js';
export * from './objectives.js';
export * from './optimize.js';
export * from './adam.js';
export * from './gram.js';
export * from './pool.js';
export * from './kernels/webgpu-fused-input-conv.js';
export * from './kernels/webgpu-counter-noise.js';
export * from './kernels/webgpu-reduce-channels.js';
export {
  activePrecision,
  F16_ACCUMULATE_FLAG,
  F16_GRADIENTS_FLAG,
  type Precision,
  setWebgpuPrecision,
} from './kernels/webgpu-float16.js';
export * from './backend-select.js';
export * from './gpu-adapter.js';
export * from './self-test.js';
export {
  buildModule as buildWasmModule,
  Fn as WasmFunction,
  hasRelaxedSimd,
  hasWasmSimd,
  op as wasmOp,
  sleb as wasmSleb,
  T as wasmTypes,
  uleb as wasmUleb,
  type Code as WasmCode,
  type FuncDef as WasmFuncDef,
} from './wasm-asm.js';
