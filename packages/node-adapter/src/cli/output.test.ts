import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWritableDir, outputPaths, writeFileAtomic } from './output.js';

describe('output paths', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnnviz-out-'));
    writeFileSync(join(dir, 'file'), 'x');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names one output per input, de-duplicating stems', () => {
    expect(outputPaths(['a/cat.jpg'], join(dir, 'x.png'), 'saliency')).toEqual([join(dir, 'x.png')]);
    expect(outputPaths(['a/cat.jpg', 'b/cat.jpg', 'My Dog.png'], `${dir}/`, 'gradcam')).toEqual([
      join(dir, 'cat.gradcam.png'),
      join(dir, 'cat-2.gradcam.png'),
      join(dir, 'My_Dog.gradcam.png'),
    ]);
    expect(outputPaths(['a.png'], join(dir, 'new', 'deeper') + '/', 's')).toEqual([
      join(dir, 'new', 'deeper', 'a.s.png'),
    ]);
  });

  it('rejects a file name for several inputs, a wrong extension and unwritable places', () => {
    expect(() => outputPaths(['a.png', 'b.png'], join(dir, 'x.png'), 's')).toThrow(
      /names one file but 2 images were given/,
    );
    expect(() => outputPaths(['a.png'], join(dir, 'x.jpg'), 's')).toThrow(/must end in \.png/);
    expect(() => outputPaths(['a.png'], join(dir, 'file', 'x.png'), 's')).toThrow(
      /is not writable \(".*file" is a file, not a directory\)/,
    );
    expect(() => checkWritableDir(join(dir, 'file', 'sub'))).toThrow(/not writable/);
  });

  it('probes writability for real (root ignores modes, so this runs only as a normal user)', () => {
    if (process.getuid?.() === 0) return;
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    try {
      expect(() => checkWritableDir(ro)).toThrow(/not writable \(permission denied\)/);
    } finally {
      chmodSync(ro, 0o755);
    }
  });

  it('writes atomically and leaves no temporary file', async () => {
    await writeFileAtomic(join(dir, 'sub', 'r.json'), '{"a":1}');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['r.json']);
    await expect(writeFileAtomic(join(dir, 'file', 'r.json'), 'x')).rejects.toThrow(/cannot/);
  });
});
