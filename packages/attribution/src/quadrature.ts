import { check } from '@cnnviz/core';

/** How integrated gradients approximates its path integral (Captum's `method` names). */
export type IntegrationMethod =
  'gausslegendre' | 'riemann_trapezoid' | 'riemann_left' | 'riemann_right' | 'riemann_middle';

const METHODS: IntegrationMethod[] = [
  'gausslegendre',
  'riemann_trapezoid',
  'riemann_left',
  'riemann_right',
  'riemann_middle',
];

/**
 * Points `alphas` in [0, 1] and weights with sum(weights) = 1 for integrating over [0, 1] with
 * `n` evaluations. The trapezoid rule uses spacing 1/(n-1) (Captum uses 1/n, so its trapezoid
 * weights sum to 1 - 1/n).
 */
export function quadrature(method: IntegrationMethod, n: number): { alphas: number[]; weights: number[] } {
  check(
    METHODS.includes(method),
    'BAD_OPTION',
    `method must be one of ${METHODS.join(', ')}, got ${String(method)}`,
  );
  if (method === 'gausslegendre') return gaussLegendre(n);
  check(n > 1 || method !== 'riemann_trapezoid', 'BAD_OPTION', 'riemann_trapezoid needs steps >= 2');
  const alphas: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n; i++) {
    if (method === 'riemann_trapezoid') {
      alphas.push(i / (n - 1));
      weights.push((i === 0 || i === n - 1 ? 0.5 : 1) / (n - 1));
    } else {
      const offset = method === 'riemann_left' ? 0 : method === 'riemann_right' ? 1 : 0.5;
      alphas.push((i + offset) / n);
      weights.push(1 / n);
    }
  }
  return { alphas, weights };
}

/**
 * Gauss-Legendre nodes and weights mapped from [-1, 1] to [0, 1] (numpy's `leggauss`, ascending):
 * Newton's method on the Legendre polynomial from Chebyshev starting points (Numerical Recipes' gauleg).
 */
function gaussLegendre(n: number): { alphas: number[]; weights: number[] } {
  const alphas = new Array<number>(n);
  const weights = new Array<number>(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      let p1 = 1;
      let p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
      }
      dp = (n * (z * p1 - p2)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-15) break;
    }
    // Refresh the derivative at the converged root for the weight.
    let p1 = 1;
    let p2 = 0;
    for (let j = 1; j <= n; j++) {
      const p3 = p2;
      p2 = p1;
      p1 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
    }
    dp = (n * (z * p1 - p2)) / (z * z - 1);
    const w = 2 / ((1 - z * z) * dp * dp);
    // z is the i-th largest root: -z is the i-th smallest.
    alphas[i] = 0.5 * (1 - z);
    alphas[n - 1 - i] = 0.5 * (1 + z);
    weights[i] = weights[n - 1 - i] = 0.5 * w;
  }
  return { alphas, weights };
}
