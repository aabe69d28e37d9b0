#!/usr/bin/env node
import { parse, helpText } from './args.js';
import { createCtx, type Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { EXIT, CliError, report } from './errors.js';

const VERSION = '0.1.0';

function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    'cnnviz — make convolutional networks visible (TensorFlow.js, no Python)',
    '',
    'Usage: cnnviz <command> [arguments] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(w)}${c.spec.summary}`),
    '',
    'Every command takes --help (with an example), --json (machine-readable result on stdout),',
    '--quiet and --backend. Models: fashion-cnn, mobilenet-v2, inception-v3, or a path to model.json.',
    '',
    'Examples:',
    '  cnnviz info',
    '  cnnviz gradcam fashion-bag -m fashion-cnn -o gradcam.png',
    '  cnnviz dream photo.jpg -m inception-v3 --layer mixed3 -o dream.png',
    '',
  ].join('\n');
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.spec.name === rest[0]) : undefined;
    process.stdout.write(target ? helpText(target.spec) : overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command: Command | undefined = COMMANDS.find((c) => c.spec.name === name);
  let model: string | undefined;
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\ncnnviz: stopping (Ctrl-C again to quit at once)\n');
      controller.abort(new Error('interrupted by SIGINT'));
    } else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);
  let json = false;
  try {
    if (!command) {
      throw new CliError(
        'BAD_OPTION',
        `unknown command "${name}" — run \`cnnviz --help\` for the list (${COMMANDS.map((c) => c.spec.name).join(', ')})`,
      );
    }
    const args = parse(command.spec, rest);
    json = args.values.json === true;
    if (args.values.help) {
      process.stdout.write(helpText(command.spec));
      return EXIT.ok;
    }
    model = typeof args.values.model === 'string' ? args.values.model : undefined;
    const ctx = createCtx(command.spec.name, args.values, controller.signal);
    const result = await command.run(args, ctx);
    if (controller.signal.aborted) throw Object.assign(new CliError('ABORTED', 'interrupted'), {});
    if (json) process.stdout.write(`${JSON.stringify({ ok: true, ...result.json })}\n`);
    else if (result.lines.length) process.stdout.write(`${result.lines.join('\n')}\n`);
    return EXIT.ok;
  } catch (e) {
    // A Ctrl-C may surface as whatever the interrupted step threw; it is still an interruption.
    const r = controller.signal.aborted
      ? report(new CliError('ABORTED', 'interrupted'), name, model)
      : report(e, command ? name : '', model);
    process.stderr.write(`${r.line}\n`);
    if (json)
      process.stdout.write(`${JSON.stringify({ ok: false, error: { code: r.code, message: r.line } })}\n`);
    if (process.env.CNNVIZ_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return r.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

// Node ends a process whose event loop is empty with code 0, even while a promise is pending (one waiting on an
// unref'd worker, such as Emscripten's pthreads once wasm-threads.ts has unref'd them): CI once saw `cnnviz embed
// --json` exit 0 with no output. Keep the loop alive until the command has answered.
const keepAlive = setInterval(() => undefined, 2 ** 30);
// Exit explicitly once stdout has drained: backends may hold timers or worker handles open.
main(process.argv.slice(2)).then((code) => {
  clearInterval(keepAlive);
  process.stdout.write('', () => process.exit(code));
});
