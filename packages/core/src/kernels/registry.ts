import * as tf from '@tensorflow/tfjs-core';

/** A kernel replacement: the config to install, and the stock kernel it wraps (if any) for fallbacks. */
export interface KernelFix {
  /** Short name reported by `registerKernelFixes`, e.g. `wasm:MaxPoolGrad`. */
  readonly name: string;
  readonly kernelName: string;
  readonly backendName: string;
  /**
   * Builds the kernel function. `stock` is the kernel registered before the fix (undefined where the backend has
   * none), so a fix can hand cases it does not cover (NCHW, dilations) back to it.
   */
  make(stock: tf.KernelConfig | undefined): tf.KernelFunc;
}

// Marks our kernel configs so a second registration is recognised (idempotence), even across copies of this module.
const FIX_MARK = Symbol.for('cnnviz.kernelFix');

type MarkedConfig = tf.KernelConfig & { [FIX_MARK]?: { stock: tf.KernelConfig | undefined } };

/** True when the kernel currently registered for (kernelName, backendName) is a cnnviz fix. */
export function isFixInstalled(kernelName: string, backendName: string): boolean {
  const cfg = tf.getKernel(kernelName, backendName) as MarkedConfig | undefined;
  return cfg?.[FIX_MARK] !== undefined;
}

/** Installs `fix` unless it is already installed; returns true when it is installed after the call. */
export function installFix(fix: KernelFix): boolean {
  const current = tf.getKernel(fix.kernelName, fix.backendName) as MarkedConfig | undefined;
  if (current?.[FIX_MARK] !== undefined) return true;
  const stock = current;
  const config: MarkedConfig = {
    kernelName: fix.kernelName,
    backendName: fix.backendName,
    kernelFunc: fix.make(stock),
    // Stock wasm kernels bind their C functions in setupFunc, which the backend calls once for the kernels
    // registered when it initialises; if we replace the kernel before that, our fallback still needs the binding.
    setupFunc: stock?.setupFunc,
    disposeFunc: stock?.disposeFunc,
    [FIX_MARK]: { stock },
  };
  if (current !== undefined) tf.unregisterKernel(fix.kernelName, fix.backendName);
  tf.registerKernel(config);
  return true;
}

/** Puts the stock kernel back (or removes ours where there was none); returns true when something changed. */
export function uninstallFix(kernelName: string, backendName: string): boolean {
  const current = tf.getKernel(kernelName, backendName) as MarkedConfig | undefined;
  const mark = current?.[FIX_MARK];
  if (mark === undefined) return false;
  tf.unregisterKernel(kernelName, backendName);
  if (mark.stock !== undefined) tf.registerKernel(mark.stock);
  return true;
}

/** The kernel registered before cnnviz's fix, or the current one when no fix is installed. */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const current = tf.getKernel(kernelName, backendName) as MarkedConfig | undefined;
  const mark = current?.[FIX_MARK];
  return mark !== undefined ? mark.stock : current;
}
