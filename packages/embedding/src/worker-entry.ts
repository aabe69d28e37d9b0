import { CnnvizError } from '@cnnviz/core';

/**
 * Where a worker-thread entry of this package lives: `<name>.js` beside this module (the built
 * package), or `<name>.ts` through tsx's loader when running from TypeScript sources (tests,
 * tsx). Returns what `new Worker(entry, { eval })` takes.
 */
export async function workerEntry(
  name: string,
  what: string,
): Promise<{ entry: URL | string; eval: boolean }> {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { createRequire } = await import('node:module');
  const built = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(built))) return { entry: built, eval: false };
  let tsxApi: string;
  try {
    tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api');
  } catch {
    throw new CnnvizError(
      'BACKEND',
      `${what} needs the built package (dist/${name}.js) or tsx to run from sources`,
    );
  }
  const source = new URL(`./${name}.ts`, import.meta.url).href;
  const api = new URL(tsxApi.replace(/\.cjs$/, '.mjs'), 'file://').href;
  return {
    entry: `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`,
    eval: true,
  };
}
