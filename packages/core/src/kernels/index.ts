import { cpuConv2dBackpropFilterFix } from './cpu-conv2d-backprop-filter.js';
import { clearKernelFixCaches } from './derived-weights.js';
import { fastConv2dBackpropInputFix } from './fast-conv2d-backprop-input.js';
import { outputMaskFix } from './output-mask.js';
import { installFix, type KernelFix, uninstallFix } from './registry.js';
import { rollFix } from './roll.js';
import { wasmConv2dBackpropFilterFix } from './wasm-conv2d-backprop-filter.js';
import { wasmWinogradConv2dFix, wasmWinogradFusedConv2dFix } from './wasm-winograd-conv2d.js';
import { wasmBatchMatMulFix } from './wasm-fast-batch-matmul.js';
import { wasmComparisonFixes } from './wasm-fast-elementwise.js';
import { wasmDepthToSpaceFix } from './wasm-fast-depth-to-space.js';
import { wasmAdamFix } from './wasm-simd-adam.js';
import { wasmPadV2Fix } from './wasm-fast-pad.js';
import { wasmReverseFix } from './wasm-fast-reverse.js';
import { wasmSliceFix, wasmSplitVFix } from './wasm-fast-slice.js';
import { wasmConcatFix } from './wasm-fast-concat.js';
import { wasmTileFix } from './wasm-fast-tile.js';
import { wasmTransformFix } from './wasm-transform.js';
import { wasmDepthwiseBackpropFilterFix } from './wasm-depthwise-backprop-filter.js';
import { wasmDepthwiseBackpropInputFix } from './wasm-depthwise-backprop-input.js';
import { wasmMaxPoolGradFix } from './wasm-maxpool-grad.js';
import { wasmUnsortedSegmentSumFix } from './wasm-unsorted-segment-sum.js';
import { wasmCastFix, wasmIdentityFix } from './wasm-zero-copy.js';
import { webgpuKernelFixes } from './webgpu-kernel-fixes.js';
import { resetWebgpuPrecision } from './webgpu-float16.js';

export {
  inputOnlyConv2d,
  inputOnlyDepthwiseConv2d,
  type ConvActivation,
  type InputOnlyConvOptions,
} from './input-only-conv.js';
export { clearKernelFixCaches } from './derived-weights.js';

// wasm: the missing / wrong gradient kernels first, then the stock kernels that were slow on gradient paths.
const FIXES: Record<string, KernelFix[]> = {
  cpu: [cpuConv2dBackpropFilterFix, outputMaskFix('cpu'), rollFix('cpu')],
  wasm: [
    wasmMaxPoolGradFix,
    wasmConv2dBackpropFilterFix,
    fastConv2dBackpropInputFix('wasm'),
    wasmDepthwiseBackpropInputFix,
    wasmDepthwiseBackpropFilterFix,
    wasmUnsortedSegmentSumFix,
    wasmSliceFix,
    wasmSplitVFix,
    wasmConcatFix,
    wasmPadV2Fix,
    wasmDepthToSpaceFix,
    wasmTileFix,
    wasmReverseFix,
    wasmTransformFix,
    wasmBatchMatMulFix,
    wasmWinogradConv2dFix,
    wasmWinogradFusedConv2dFix,
    outputMaskFix('wasm'),
    rollFix('wasm'),
    wasmAdamFix,
    ...wasmComparisonFixes,
    wasmIdentityFix,
    wasmCastFix,
  ],
  webgpu: webgpuKernelFixes,
};

/**
 * Installs cnnviz's kernel fixes for a backend: corrected or missing gradient kernels and faster convolution
 * gradients. Call it after the backend package is imported (a later import would overwrite the fixes).
 * Idempotent; returns the names of the fixes installed (`[]` for a backend that needs none, e.g. 'webgl').
 */
export function registerKernelFixes(backendName: string): string[] {
  const fixes = FIXES[backendName] ?? [];
  return fixes.filter((f) => installFix(f)).map((f) => f.name);
}

/** Restores the stock kernels a previous `registerKernelFixes` replaced; returns the names of the fixes removed. */
export function unregisterKernelFixes(backendName: string): string[] {
  const fixes = FIXES[backendName] ?? [];
  clearKernelFixCaches();
  // The half-precision kernels sit on top of the fixes: they go first.
  if (backendName === 'webgpu') resetWebgpuPrecision();
  return fixes.filter((f) => uninstallFix(f.kernelName, f.backendName)).map((f) => f.name);
}

/** Names of the fixes cnnviz has for a backend (installed or not). */
export function kernelFixNames(backendName: string): string[] {
  return (FIXES[backendName] ?? []).map((f) => f.name);
}
