import { spawn } from 'node:child_process';
import type { ParsedArgs } from '../args.js';
import type { CommandResult, Ctx } from '../command.js';

/** Opens a URL in the desktop's browser; a machine without one only misses the convenience. */
function openBrowser(url: string, ctx: Ctx): void {
  const [cmd, ...args] =
    process.platform === 'darwin'
      ? ['open', url]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""', url]
        : ['xdg-open', url];
  const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
  child.on('error', () => ctx.note(`could not open a browser (${cmd}); open ${url} yourself`));
  child.unref();
}

/** `cnnviz map serve`: the map viewer until Ctrl-C or SIGTERM. */
export async function mapServe(args: ParsedArgs, ctx: Ctx): Promise<CommandResult> {
  const v = args.values;
  const { loadDatasets, tableName } = await import('../datasets.js');
  const table = tableName(v.table, 'map serve');
  const ds = await loadDatasets('map serve');
  // Thumbnails are decoded and resized with TF.js ops: the CPU backend is plenty and starts at once.
  const s = await import('../session.js');
  await s.startBackend(ctx, v.backend ?? 'cpu');
  const stop = new AbortController();
  const onTerm = () => stop.abort();
  process.once('SIGTERM', onTerm);
  ctx.signal.addEventListener('abort', onTerm, { once: true });
  try {
    ctx.note(`map: reading ${table} map ${String(v.name)}…`);
    const server = await ds.serveMap({
      store: v.store as string,
      table,
      name: v.name as string,
      port: v.port as number,
      host: v.host as string,
      // --max-pixels: stored images over it get no thumbnail (IMAGE_TOO_LARGE), as everywhere.
      ...(ctx.maxPixels ? { maxPixels: ctx.maxPixels } : {}),
      signal: stop.signal,
    });
    const line = `map viewer of ${table} (${String(v.name)}, ${server.n} points, read in ${server.loadSeconds.toFixed(1)} s): ${server.url}`;
    if (ctx.json)
      process.stdout.write(`${JSON.stringify({ event: 'listening', url: server.url, n: server.n })}\n`);
    else process.stdout.write(`${line}\n`);
    ctx.note('Ctrl-C to stop');
    if (v.open) openBrowser(server.url, ctx);
    await new Promise<void>((resolve) =>
      stop.signal.aborted
        ? resolve()
        : stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await server.close();
    return {
      lines: [`map viewer stopped`],
      json: { command: 'map', action: 'serve', table, name: v.name, url: server.url, n: server.n },
    };
  } finally {
    process.off('SIGTERM', onTerm);
  }
}
