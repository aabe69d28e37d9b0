import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId, redisConnection } from './queue-names.js';
import { runQueued } from './run-queued.js';
import { connect, openTable } from './store.js';
import { haveRedis, startRedis } from './test-redis.js';
import { writeSyntheticImages } from './test-util.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../../..');
const redisOk = haveRedis();
if (!redisOk)
  console.log(
    'skipped: BullMQ fault tests need redis-server (apt-get install -y redis-server; CI=true fails without it)',
  );

describe('jobId', () => {
  it('depends on the batch and the run, not on credentials', () => {
    const base = { table: 't', model: 'fashion-cnn', entries: [{ path: '/a.png' }, { path: '/b.png' }] };
    expect(jobId(base)).toBe(jobId({ ...base, entries: [{ path: '/a.png' }, { path: '/b.png' }] }));
    expect(jobId(base)).toBe(jobId({ ...base, storageOptions: { secret: 'x' } }));
    expect(jobId(base)).not.toBe(jobId({ ...base, entries: [{ path: '/a.png' }] }));
    expect(jobId(base)).not.toBe(jobId({ ...base, layer: 'dense1' }));
    expect(jobId(base)).toMatch(/^b-[0-9a-f]{40}$/);
  });
});

interface Child {
  p: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function start(args: string[], onLine?: (o: Record<string, unknown>, c: Child) => void): Child {
  const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'queue-child.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
  });
  const c: Child = { p, lines: [], exited: new Promise((done) => p.on('exit', (code) => done(code))) };
  let buf = '';
  p.stdout!.on('data', (d: Buffer) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const o = JSON.parse(line) as Record<string, unknown>;
      c.lines.push(o);
      onLine?.(o, c);
    }
  });
  p.stderr!.on('data', () => {});
  return c;
}

describe.skipIf(!redisOk)('runQueued and runWorker on a real Redis', () => {
  let dir: string;
  let redis: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnnviz-queue-'));
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every image exactly once when a worker and the coordinator are SIGKILLed mid-run', async () => {
    const N = 120;
    const paths = writeSyntheticImages(join(dir, 'images'), N);
    const store = join(dir, 'store');
    const q = 'fault';
    const workers: Child[] = [];
    let killedMid: { worker: string; job: string } | undefined;
    let killedAfterCommit: { worker: string; job: string } | undefined;
    let done = 0;
    for (let i = 0; i < 4; i++) {
      workers.push(
        start(['worker', redis.url, q, '150', '300'], (o, c) => {
          if (o.phase === 'done') done++;
          // One worker dies in the middle of a batch, another after committing one but before the
          // queue heard it was done: both jobs must be retried elsewhere, neither stored twice.
          if (o.phase === 'start' && done >= 3 && !killedMid) {
            killedMid = { worker: o.worker as string, job: o.job as string };
            c.p.kill('SIGKILL');
          } else if (
            o.phase === 'done' &&
            done >= 6 &&
            killedMid &&
            !killedAfterCommit &&
            o.worker !== killedMid.worker
          ) {
            killedAfterCommit = { worker: o.worker as string, job: o.job as string };
            c.p.kill('SIGKILL');
          }
        }),
      );
    }
    const args = ['coordinator', redis.url, q, join(dir, 'images'), store, 'features', '4'];
    let coordinatorKilled = false;
    const first = start(args, (o, c) => {
      if (typeof o.progress === 'number' && o.progress >= 12 && !coordinatorKilled) {
        coordinatorKilled = true;
        c.p.kill('SIGKILL');
      }
    });
    await first.exited;
    expect(coordinatorKilled).toBe(true);
    const second = start(args);
    expect(await second.exited).toBe(0);
    const summary = second.lines.find((l) => l.summary)!.summary as {
      rows: number;
      jobs: number;
      merge: { duplicates: number };
    };

    expect(killedMid).toBeDefined();
    expect(killedAfterCommit).toBeDefined();
    expect(summary.rows).toBe(N);
    // The batch committed by the worker killed before completing its job was computed twice, and merged once.
    expect(summary.merge.duplicates).toBeGreaterThanOrEqual(4);
    const table = await openTable({ store, table: 'features' });
    const rows = (await table!.query().select(['id', 'path']).toArray()) as {
      id: bigint | number;
      path: string;
    }[];
    expect(rows.length).toBe(N);
    expect(new Set(rows.map((r) => r.path))).toEqual(new Set(paths));
    expect(rows.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([...Array(N).keys()]);
    // Worker tables are merged and gone.
    expect((await (await connect({ store })).tableNames()).filter((n) => n !== 'features')).toEqual([]);

    // Both interrupted jobs were finished by another worker; all 30 jobs completed, each once.
    const connection = redisConnection(redis.url);
    const queue = new Queue(q, { connection });
    try {
      for (const k of [killedMid!, killedAfterCommit!]) {
        const job = await queue.getJob(k.job);
        expect(await job!.getState()).toBe('completed');
        expect((job!.returnvalue as { worker: string }).worker).not.toBe(k.worker);
      }
      expect(await queue.getJobCountByTypes('completed')).toBe(N / 4);
    } finally {
      await queue.close();
      connection.disconnect();
    }
    for (const w of workers) if (w.p.exitCode === null) w.p.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    console.log(
      `fault test: ${N} images, ${N / 4} jobs, 4 workers (2 SIGKILLed: mid-batch and after commit), coordinator SIGKILLed once; ${summary.merge.duplicates} duplicate rows left out by the merge; ${rows.length} rows, ${new Set(rows.map((r) => r.path)).size} distinct paths`,
    );
  }, 240_000);

  it('reports a job that keeps failing, and retries it when rerun after the fix', async () => {
    const data = join(dir, 'bad');
    const good = writeSyntheticImages(data, 3, 1);
    writeFileSync(good[1], 'not an image');
    const store = join(dir, 'store-bad');
    const worker = start(['worker', redis.url, 'bad', '0', '0']);
    const opts = {
      redis: redis.url,
      queue: 'bad',
      store,
      table: 't',
      model: 'fashion-cnn',
      batchSize: 2,
      attempts: 2,
      pollInterval: 100,
    };
    const err = await runQueued(data, opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IO' });
    expect((err as Error).message).toContain('img-000000.png');
    expect((err as Error).message).toMatch(/failed after 2 attempts.*img-000001\.png/);
    writeSyntheticImages(data, 3, 1); // the fix: the file is an image again
    const s = await runQueued(data, opts);
    expect(s).toMatchObject({ images: 3, rows: 3 });
    worker.p.kill('SIGTERM');
    await worker.exited;
  }, 120_000);
});
