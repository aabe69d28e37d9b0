import { parseArgs } from 'node:util';
import { CliError } from './errors.js';

export type OptionType = 'string' | 'number' | 'integer' | 'boolean' | 'list';

/** One `--flag` of a subcommand; `list` takes a comma-separated value and may repeat. */
export interface OptionSpec {
  type: OptionType;
  short?: string;
  description: string;
  default?: string | number | boolean;
  /** Shown in help: `--layer <name>`. */
  placeholder?: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

export interface PositionalSpec {
  name: string;
  description: string;
  /** At least one value is needed. */
  required?: boolean;
  /** Takes any number of values (paths or globs). */
  variadic?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** A paragraph under the usage line: what the output shows. */
  description?: string;
  positionals?: PositionalSpec;
  options: Record<string, OptionSpec>;
  /** Complete command lines a user can paste. */
  examples: string[];
}

export type OptionValue = string | number | boolean | string[] | undefined;

export interface ParsedArgs {
  values: Record<string, OptionValue>;
  positionals: string[];
}

/** Options every subcommand takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print a machine-readable result (JSON) on stdout' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress bar or notes on stderr' },
  backend: {
    type: 'string',
    placeholder: '<name>',
    description:
      'TF.js backend to try first: wasm, cpu, webgpu, tensorflow (default: fastest that works; env CNNVIZ_BACKEND)',
  },
  'max-pixels': {
    type: 'integer',
    min: 1,
    placeholder: '<n>',
    description:
      'refuse input images with more pixels than this, read from their header before decoding (default 100000000)',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

const usage = (spec: CommandSpec, message: string) =>
  new CliError('BAD_OPTION', `${message}; see \`cnnviz ${spec.name} --help\``);

function convert(
  spec: CommandSpec,
  name: string,
  opt: OptionSpec,
  raw: string | boolean | (string | boolean)[],
): OptionValue {
  const flag = `--${name}`;
  if (opt.type === 'boolean') return raw === true;
  if (opt.type === 'list') {
    const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((r) => String(r).split(','));
    return parts.map((p) => p.trim()).filter((p) => p.length > 0);
  }
  const text = String(Array.isArray(raw) ? raw[raw.length - 1] : raw);
  if (opt.type === 'string') {
    if (opt.choices && !opt.choices.includes(text)) {
      throw usage(spec, `${flag} must be one of ${opt.choices.join(', ')}, got "${text}"`);
    }
    return text;
  }
  const value = Number(text);
  const what = opt.type === 'integer' ? 'an integer' : 'a number';
  if (text.trim() === '' || !Number.isFinite(value) || (opt.type === 'integer' && !Number.isInteger(value))) {
    throw usage(spec, `${flag} must be ${what}, got "${text}"`);
  }
  if ((opt.min !== undefined && value < opt.min) || (opt.max !== undefined && value > opt.max)) {
    const range =
      opt.max === undefined
        ? `>= ${opt.min}`
        : opt.min === undefined
          ? `<= ${opt.max}`
          : `in ${opt.min}..${opt.max}`;
    throw usage(spec, `${flag} must be ${range}, got ${text}`);
  }
  return value;
}

/**
 * Parses `argv` (the words after the subcommand) against `spec` plus the common options, with
 * node:util's parseArgs for the syntax (`--a b`, `--a=b`, `-o x`, `--` ends options) and our own
 * conversion, so every mistake is one BAD_OPTION message that names the flag and the fix.
 */
export function parse(spec: CommandSpec, argv: string[]): ParsedArgs {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, opt] of Object.entries(all)) {
    options[name] = {
      type: opt.type === 'boolean' ? 'boolean' : 'string',
      ...(opt.short ? { short: opt.short } : {}),
      ...(opt.type === 'list' ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const msg = (e as Error).message.split('\n')[0];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const m = /'([^']+)'/.exec(msg);
      throw usage(spec, `unknown option ${m ? m[1] : msg}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw usage(spec, msg.replace(/\.$/, ''));
    throw usage(spec, msg);
  }
  const values: Record<string, OptionValue> = {};
  for (const [name, opt] of Object.entries(all)) {
    const raw = (parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>)[name];
    if (raw === undefined) {
      values[name] = opt.default !== undefined ? opt.default : opt.type === 'boolean' ? false : undefined;
      if (opt.type === 'list' && typeof opt.default === 'string')
        values[name] = convert(spec, name, opt, opt.default);
    } else {
      values[name] = convert(spec, name, opt, raw);
    }
  }
  const positionals = parsed.positionals;
  if (!values.help) {
    const pos = spec.positionals;
    if (!pos && positionals.length > 0) throw usage(spec, `unexpected argument "${positionals[0]}"`);
    if (pos?.required && positionals.length === 0) throw usage(spec, `missing <${pos.name}>`);
    if (pos && !pos.variadic && positionals.length > 1) {
      throw usage(
        spec,
        `expected one <${pos.name}>, got ${positionals.length}: ${positionals.join(' ')} (quote a glob so the shell does not expand it)`,
      );
    }
  }
  return { values, positionals };
}

function flagLabel(name: string, opt: OptionSpec): string {
  const short = opt.short ? `-${opt.short}, ` : '    ';
  const arg =
    opt.type === 'boolean'
      ? ''
      : ` ${opt.placeholder ?? (opt.type === 'list' ? '<a,b,...>' : opt.type === 'string' ? '<value>' : '<n>')}`;
  return `${short}--${name}${arg}`;
}

/** The `--help` text: usage, description, options with defaults, examples. */
export function helpText(spec: CommandSpec): string {
  const pos = spec.positionals;
  const posText = pos
    ? ` ${pos.required ? '' : '['}<${pos.name}>${pos.variadic ? '...' : ''}${pos.required ? '' : ']'}`
    : '';
  const lines = [
    `cnnviz ${spec.name} — ${spec.summary}`,
    '',
    `Usage: cnnviz ${spec.name}${posText} [options]`,
  ];
  if (spec.description) lines.push('', ...wrap(spec.description, 100));
  if (pos) lines.push('', 'Arguments:', `  <${pos.name}>${pos.variadic ? '...' : ''}  ${pos.description}`);
  const rows = (opts: Record<string, OptionSpec>) => {
    const entries = Object.entries(opts);
    const width = Math.max(...entries.map(([n, o]) => flagLabel(n, o).length)) + 2;
    return entries.map(([n, o]) => {
      const extra: string[] = [];
      if (o.choices) extra.push(`one of ${o.choices.join(', ')}`);
      if (o.default !== undefined && o.default !== false) extra.push(`default ${String(o.default)}`);
      const tail = extra.length ? ` (${extra.join('; ')})` : '';
      return `  ${flagLabel(n, o).padEnd(width)}${o.description}${tail}`;
    });
  };
  if (Object.keys(spec.options).length) lines.push('', 'Options:', ...rows(spec.options));
  lines.push('', 'Common options:', ...rows(COMMON_OPTIONS));
  lines.push('', spec.examples.length > 1 ? 'Examples:' : 'Example:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
