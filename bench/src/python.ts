import { existsSync } from 'node:fs';

/**
 * The Python that has PyTorch: $PYTHON, else Debian's /usr/bin/python3 (python3-torch installs there, and a
 * pyenv shim earlier on PATH may lack it), else whatever `python3` is.
 */
export const PYTHON = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
