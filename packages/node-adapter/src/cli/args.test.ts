import { describe, expect, it } from 'vitest';
import { helpText, parse, type CommandSpec } from './args.js';
import { report } from './errors.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'a test command',
  positionals: { name: 'image', description: 'images', required: true, variadic: true },
  options: {
    steps: { type: 'integer', min: 1, default: 10, description: 'steps' },
    noise: { type: 'number', min: 0, max: 1, description: 'noise' },
    method: { type: 'string', choices: ['a', 'b'], default: 'a', description: 'method' },
    layers: { type: 'list', description: 'layers' },
    output: { type: 'string', short: 'o', description: 'output' },
  },
  examples: ['cnnviz demo x.png'],
};

/** The message a user would see for these arguments. */
function failure(argv: string[]): { exitCode: number; line: string } {
  try {
    parse(spec, argv);
  } catch (e) {
    return report(e, 'demo');
  }
  throw new Error('expected a failure');
}

describe('parse', () => {
  it('converts values and applies defaults', () => {
    const a = parse(spec, [
      'x.png',
      'y.png',
      '--noise=0.25',
      '-o',
      'out/',
      '--layers',
      'a,b',
      '--layers',
      'c',
      '--json',
    ]);
    expect(a.positionals).toEqual(['x.png', 'y.png']);
    expect(a.values).toMatchObject({
      steps: 10,
      noise: 0.25,
      method: 'a',
      layers: ['a', 'b', 'c'],
      output: 'out/',
      json: true,
      quiet: false,
    });
  });

  it('turns every mistake into one exit-2 line naming the flag and the fix', () => {
    const cases: [string[], RegExp][] = [
      [['x.png', '--steps', '2.5'], /--steps must be an integer, got "2.5"/],
      [['x.png', '--steps', '0'], /--steps must be >= 1, got 0/],
      [['x.png', '--noise', 'lots'], /--noise must be a number, got "lots"/],
      [['x.png', '--noise', '2'], /--noise must be in 0..1, got 2/],
      [['x.png', '--method', 'c'], /--method must be one of a, b, got "c"/],
      [['x.png', '--bogus'], /unknown option --bogus/],
      [[], /missing <image>/],
    ];
    for (const [argv, message] of cases) {
      const r = failure(argv);
      expect(r.exitCode).toBe(2);
      expect(r.line).toMatch(message);
      expect(r.line).toContain('cnnviz demo --help');
      expect(r.line).not.toContain('\n');
    }
  });

  it('skips argument checks when --help is given', () => {
    expect(parse(spec, ['--help']).values.help).toBe(true);
  });

  it('writes help with usage, defaults and an example', () => {
    const text = helpText(spec);
    expect(text).toContain('Usage: cnnviz demo <image>... [options]');
    expect(text).toMatch(/--steps <n>\s+steps \(default 10\)/);
    expect(text).toContain('one of a, b');
    expect(text).toContain('Example:\n  cnnviz demo x.png');
  });
});

describe('report', () => {
  it('maps error codes to exit codes and fixes', () => {
    const err = (code: string, message: string) =>
      Object.assign(new Error(message), { code, [Symbol.for('cnnviz.error')]: true });
    expect(
      report(err('UNKNOWN_LAYER', 'unknown layer "x"; close names: a, b'), 'gradcam', 'fashion-cnn'),
    ).toEqual({
      exitCode: 2,
      code: 'UNKNOWN_LAYER',
      line: 'cnnviz gradcam: unknown layer "x"; close names: a, b — run `cnnviz layers --model fashion-cnn` to list the layers',
    });
    // A missing weight package is the user's to fix; its message already names the `npm i` command.
    expect(
      report(
        err('MODEL_NOT_INSTALLED', 'needs @cnnviz/zoo-inception-v3: run `npm i @cnnviz/zoo-inception-v3`'),
        'dream',
      ),
    ).toEqual({
      exitCode: 2,
      code: 'MODEL_NOT_INSTALLED',
      line: 'cnnviz dream: needs @cnnviz/zoo-inception-v3: run `npm i @cnnviz/zoo-inception-v3`',
    });
    expect(report(err('ABORTED', 'x was aborted'), 'dream').exitCode).toBe(130);
    expect(report(err('BACKEND', 'no backend'), 'info').exitCode).toBe(1);
    expect(report(new TypeError('boom\nstack'), 'info')).toMatchObject({
      exitCode: 1,
      line: 'cnnviz info: unexpected error: boom (please report it with the command line)',
    });
  });
});
