// What `npm i <package>` would install, read from a package-lock.json (lockfileVersion 3).
import { readFileSync } from 'node:fs';

interface LockEntry {
  name?: string;
  version?: string;
  link?: boolean;
  resolved?: string;
  dev?: boolean;
  optional?: boolean;
  hasInstallScript?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** Location in the lock, e.g. `node_modules/nsfwjs`. */
  location: string;
  hasInstallScript: boolean;
  /** The chain of package names that pulls it in. */
  via: string[];
}

export class Lockfile {
  readonly packages: Record<string, LockEntry>;

  constructor(path: string) {
    const lock = JSON.parse(readFileSync(path, 'utf8')) as {
      lockfileVersion: number;
      packages: Record<string, LockEntry>;
    };
    if (lock.lockfileVersion < 2)
      throw new Error(`${path}: lockfileVersion ${lock.lockfileVersion} has no "packages" map`);
    this.packages = lock.packages;
  }

  /** Node's lookup: `from/node_modules/name`, then the same in each enclosing folder; links are followed. */
  resolve(from: string, name: string): string | undefined {
    let dir = from;
    for (;;) {
      const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      const entry = this.packages[candidate];
      if (entry) return entry.link && entry.resolved !== undefined ? entry.resolved : candidate;
      if (!dir) return undefined;
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut >= 0 ? dir.slice(0, cut) : '';
    }
  }

  /**
   * Everything a consumer gets with the package at `location`: dependencies, optional dependencies (npm
   * installs them by default) and non-optional peer dependencies (npm 7+ installs those too), transitively.
   * Optional peers are not installed, so they are not followed.
   */
  closure(location: string): InstalledPackage[] {
    const seen = new Map<string, InstalledPackage>();
    const queue: { location: string; via: string[] }[] = [{ location, via: [] }];
    while (queue.length) {
      const { location: loc, via } = queue.shift()!;
      const entry = this.packages[loc];
      if (!entry) continue;
      const name = entry.name ?? loc.slice(loc.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const edges = {
        ...entry.dependencies,
        ...entry.optionalDependencies,
        ...Object.fromEntries(
          Object.entries(entry.peerDependencies ?? {}).filter(
            ([n]) => !entry.peerDependenciesMeta?.[n]?.optional,
          ),
        ),
      };
      for (const dep of Object.keys(edges)) {
        const target = this.resolve(loc, dep);
        if (target === undefined || seen.has(target)) continue;
        const t = this.packages[target];
        const item = {
          name: dep,
          version: t?.version ?? '?',
          location: target,
          hasInstallScript: Boolean(t?.hasInstallScript),
          via: [...via, name],
        };
        seen.set(target, item);
        queue.push({ location: target, via: item.via });
      }
    }
    return [...seen.values()];
  }
}
