import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInputs } from './inputs.js';
import { parseModelRef } from './model-arg.js';

describe('image arguments', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnnviz-in-'));
    mkdirSync(join(dir, 'cats'));
    for (const f of ['cats/a.png', 'cats/b.jpg', 'x.png']) writeFileSync(join(dir, f), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes files, globs and bundled names, in order', () => {
    const r = resolveInputs([join(dir, 'x.png'), `${dir}/cats/*`, 'chelsea'], ['chelsea']);
    expect(r).toEqual([
      { name: join(dir, 'x.png'), path: join(dir, 'x.png') },
      { name: `${dir}/cats/a.png`, path: `${dir}/cats/a.png` },
      { name: `${dir}/cats/b.jpg`, path: `${dir}/cats/b.jpg` },
      { name: 'chelsea', bundled: 'chelsea' },
    ]);
  });

  it('names the problem and the fix', () => {
    expect(() => resolveInputs([`${dir}/*.gif`])).toThrow(/no files match ".*\*\.gif" — check the pattern/);
    expect(() => resolveInputs(['chelsa'], ['chelsea', 'coffee'])).toThrow(
      /cannot read image "chelsa": no such file — pass a PNG or JPEG path; bundled images: chelsea, coffee/,
    );
    expect(() => resolveInputs([join(dir, 'cats')])).toThrow(
      /it is a directory — pass image files, or a glob such as ".*cats\/\*\.png"/,
    );
  });
});

describe('--model', () => {
  it('accepts zoo names, aliases, model.json files and folders holding one', () => {
    expect(parseModelRef('fashion-cnn')).toEqual({ name: 'fashion-cnn', zoo: 'fashion-cnn' });
    expect(parseModelRef('MobileNet')).toEqual({ name: 'mobilenet-v2', zoo: 'mobilenet-v2' });
    const folder = mkdtempSync(join(tmpdir(), 'cnnviz-model-'));
    writeFileSync(join(folder, 'model.json'), '{}');
    expect(parseModelRef(folder)).toEqual({
      name: join(folder, 'model.json'),
      path: join(folder, 'model.json'),
    });
    rmSync(folder, { recursive: true, force: true });
  });

  it('rejects anything else with the list of names', () => {
    expect(() => parseModelRef('resnet50')).toThrow(
      /unknown model "resnet50" — use a zoo name \(fashion-cnn, mobilenet-v2, inception-v3\)/,
    );
    expect(() => parseModelRef('mobilnet')).toThrow(/did you mean mobilenet-v2\?/);
    expect(() => parseModelRef('models/x/model.json')).toThrow(
      /cannot load model "models\/x\/model.json": no such file/,
    );
  });
});
