/** `--name=value` / `--name value` flags of a bench script's command line. */
export function cliArgs(argv: string[]) {
  const has = (f: string) => argv.includes(f);
  const opt = (name: string): string | undefined => {
    const eq = argv.find((a) => a.startsWith(`${name}=`));
    if (eq !== undefined) return eq.slice(name.length + 1);
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
  };
  const num = (name: string, dflt: number) => (opt(name) !== undefined ? Number(opt(name)) : dflt);
  return { has, opt, num };
}
