import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzip } from './assets.js';

describe('gunzip', () => {
  it('unpacks gzip data and passes data a server already unpacked through unchanged', async () => {
    const raw = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 251);
    expect(Array.from(await gunzip(new Uint8Array(gzipSync(raw))))).toEqual(Array.from(raw));
    expect(await gunzip(raw)).toBe(raw);
  });
});
