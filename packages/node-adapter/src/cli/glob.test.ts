import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandBraces, glob, hasMagic, segmentRegExp } from './glob.js';

describe('glob', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnnviz-glob-'));
    for (const f of [
      'a.png',
      'b.jpg',
      'c.txt',
      '.hidden.png',
      'sub/d.png',
      'sub/deep/e.png',
      'sub/deep/f.jpeg',
    ]) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), '');
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('expands *, ?, [..], {a,b} and ** like a shell, skipping dot files', () => {
    const rel = (ps: string[]) => ps.map((p) => p.slice(dir.length + 1));
    expect(rel(glob(`${dir}/*.png`))).toEqual(['a.png']);
    expect(rel(glob(`${dir}/*.{png,jpg}`))).toEqual(['a.png', 'b.jpg']);
    expect(rel(glob(`${dir}/?.[jt]*`))).toEqual(['b.jpg', 'c.txt']);
    expect(rel(glob(`${dir}/[!a].*`))).toEqual(['b.jpg', 'c.txt']);
    expect(rel(glob(`${dir}/**/*.png`))).toEqual(['a.png', 'sub/d.png', 'sub/deep/e.png']);
    expect(rel(glob(`${dir}/sub/**`))).toEqual(['sub/d.png', 'sub/deep/e.png', 'sub/deep/f.jpeg']);
    expect(rel(glob(`${dir}/.*.png`))).toEqual(['.hidden.png']);
    expect(glob(`${dir}/*.gif`)).toEqual([]);
    expect(glob(`${dir}/nope/*.png`)).toEqual([]);
  });

  it('returns a plain existing file and nothing for a directory', () => {
    expect(glob(`${dir}/a.png`)).toEqual([`${dir}/a.png`]);
    expect(glob(`${dir}/sub`)).toEqual([]);
  });

  it('parses pattern pieces', () => {
    expect(hasMagic('a/b.png')).toBe(false);
    expect(hasMagic('a/*.png')).toBe(true);
    expect(expandBraces('x.{a,b{c,d}}')).toEqual(['x.a', 'x.bc', 'x.bd']);
    expect(expandBraces('x{y}')).toEqual(['x{y}']);
    expect(segmentRegExp('a+b(1).png').test('a+b(1).png')).toBe(true);
    expect(segmentRegExp('*.png').test('x.jpg')).toBe(false);
  });
});
