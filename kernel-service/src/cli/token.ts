/** `nbdeploy token`: the service's access token. */
import path from 'node:path';
import { loadOrCreateToken } from '../auth.js';
import { DEFAULT_OPTIONS } from '../options.js';
import { type Command, parseCommandLine } from './command.js';

export const token: Command = {
  name: 'token',
  summary: 'print the service\'s access token',
  usage: `usage: nbdeploy token [--state-dir DIR]

Prints the token of the service that keeps its state in DIR (default ${DEFAULT_OPTIONS.stateDir}).

options:
  --state-dir DIR          the service's state dir
  -h, --help               print this and exit
`,
  run: async (args) => {
    const { values } = parseCommandLine({ args, strict: true, options: { 'state-dir': { type: 'string' } } });
    console.log(loadOrCreateToken(path.resolve(values['state-dir'] ?? DEFAULT_OPTIONS.stateDir)));
  }
};
