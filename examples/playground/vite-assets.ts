import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { Connect, Plugin } from 'vite';

/** URL folder (under the app's base) where the zoo's assets are served; the app passes it to setAssetBase. */
export const ASSET_DIR = 'cnnviz-assets';

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

/** Files the browser may ask for: weights, images, data sets; not training logs or licence notes. */
function servable(file: string): boolean {
  return extname(file) in TYPES;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : servable(path) ? [path] : [];
  });
}

/** The installed @cnnviz/models package's `assets/` folder (the repo's own files in this monorepo). */
export function modelsAssetDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@cnnviz/models/package.json');
  return join(dirname(pkg), 'assets');
}

/** The zoo weight packages the page offers (MobileNetV2; InceptionV3's 22 MB are left out). */
const ZOO_PACKAGES = ['@cnnviz/zoo-mobilenet-v2'];

/**
 * Folders served under `cnnviz-assets/`: @cnnviz/models' assets at its root, and each weight package's
 * `weights/` at `zoo/<package>/weights/`, where @cnnviz/models looks by default (`<asset base>/zoo/`).
 */
function mounts(): { prefix: string; dir: string }[] {
  const models = modelsAssetDir();
  // Resolved from @cnnviz/models, whose dependency they are.
  const fromModels = createRequire(join(models, '..', 'package.json'));
  return [
    ...ZOO_PACKAGES.map((pkg) => ({
      prefix: `zoo/${pkg.split('/')[1]}/weights/`,
      dir: join(dirname(fromModels.resolve(`${pkg}/package.json`)), 'weights'),
    })),
    { prefix: '', dir: models },
  ];
}

/**
 * Serves @cnnviz/models' bundled assets (fashionCnn weights, images, the Fashion-MNIST subset) at
 * `<base>cnnviz-assets/` and the zoo's weight files (model.json + binary shards) at
 * `<base>cnnviz-assets/zoo/`: from the package folders in `vite dev`, copied into the output by
 * `vite build` (a static host must serve `.gz` files as they are, without Content-Encoding). The app calls
 * `setAssetBase(import.meta.env.BASE_URL + 'cnnviz-assets/')`.
 */
export function cnnvizAssets(): Plugin {
  const roots = mounts();
  // Our own handler also in `vite preview`: its static server sends `.gz` files with
  // Content-Encoding: gzip, so the browser would unpack the Fashion-MNIST files before
  // @cnnviz/models gunzips them (a second time).
  const serve =
    (base: string): Connect.NextHandleFunction =>
    (req, res, next) => {
      const url = decodeURIComponent((req.url ?? '').split('?')[0]);
      const prefix = `${base}${ASSET_DIR}/`;
      if (!url.startsWith(prefix)) return next();
      const rel = url.slice(prefix.length);
      const mount = roots.find((m) => rel.startsWith(m.prefix));
      if (!mount) return next();
      const file = join(mount.dir, rel.slice(mount.prefix.length));
      if (!file.startsWith(mount.dir + sep) || !servable(file)) return next();
      try {
        if (!statSync(file).isFile()) return next();
      } catch {
        return next();
      }
      res.setHeader('Content-Type', TYPES[extname(file)]);
      createReadStream(file).pipe(res);
    };
  return {
    name: 'cnnviz-assets',
    configureServer(server) {
      server.middlewares.use(serve(server.config.base));
    },
    configurePreviewServer(server) {
      // The relative base './' is served at '/'.
      server.middlewares.use(serve(server.config.base.startsWith('/') ? server.config.base : '/'));
    },
    generateBundle() {
      for (const { prefix, dir } of roots) {
        for (const file of listFiles(dir)) {
          this.emitFile({
            type: 'asset',
            fileName: `${ASSET_DIR}/${prefix}${relative(dir, file).split(sep).join('/')}`,
            source: readFileSync(file),
          });
        }
      }
    },
  };
}
