import { describe, expect, it } from 'vitest';
import { loadDatasets, redisUrl, tableName } from './datasets.js';
import { report } from './errors.js';

describe('dataset commands without @cnnviz/datasets', () => {
  it('say which package to install, exit 1', async () => {
    const err = await loadDatasets('extract', '@cnnviz/not-installed-here').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_OP' });
    const r = report(err, 'extract');
    expect(r.exitCode).toBe(1);
    expect(r.line).toContain('npm i @cnnviz/datasets');
  });

  it('load it when installed', async () => {
    const ds = await loadDatasets('extract');
    expect(typeof ds.extractToStore).toBe('function');
    expect(typeof ds.runWorker).toBe('function');
  });

  it('check --table and --redis before loading anything', () => {
    expect(() => tableName(undefined, 'extract')).toThrow(/needs --table/);
    expect(() => tableName('a--w-b', 'extract')).toThrow(/needs --table/);
    expect(tableName('val-dense1', 'extract')).toBe('val-dense1');
    const saved = process.env.CNNVIZ_REDIS;
    delete process.env.CNNVIZ_REDIS;
    expect(() => redisUrl(undefined, 'worker')).toThrow(/--redis/);
    process.env.CNNVIZ_REDIS = 'redis://h:1';
    expect(redisUrl(undefined, 'worker')).toBe('redis://h:1');
    if (saved === undefined) delete process.env.CNNVIZ_REDIS;
    else process.env.CNNVIZ_REDIS = saved;
  });
});
