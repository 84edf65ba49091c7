/** `nbdeploy token`: the service's access token. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TOKEN_FILE } from '../auth.js';
import { DEFAULT_OPTIONS } from '../options.js';
import { readServiceNote, tokenHash } from '../service-note.js';
import { type Command, parseCommandLine } from './command.js';

export const token: Command = {
  name: 'token',
  summary: 'print the service\'s access token',
  usage: `usage: nbdeploy token [--state-dir DIR]

Prints the token of the service that keeps its state in DIR: NBDEPLOY_TOKEN when set, else
DIR/${TOKEN_FILE}. While a service runs on DIR, only the token it accepts is printed: a service
given its token with --token or NBDEPLOY_TOKEN does not use DIR/${TOKEN_FILE}, and then this
fails, saying so. Creates nothing.

options:
  --state-dir DIR          the service's state dir (default ${DEFAULT_OPTIONS.stateDir})
  -h, --help               print this and exit
`,
  run: async (args) => {
    const { values } = parseCommandLine({ args, strict: true, options: { 'state-dir': { type: 'string' } } });
    console.log(serviceToken(path.resolve(values['state-dir'] ?? DEFAULT_OPTIONS.stateDir)).token);
  }
};

export interface FoundToken {
  token: string;
  /** Where it came from, for messages. */
  source: string;
}

/**
 * The token of the service on `stateDir`: NBDEPLOY_TOKEN, else the state dir's token file;
 * when a service runs there, the one of those it accepts. Throws, saying why, when there is none.
 */
export function serviceToken(stateDir: string, env: NodeJS.ProcessEnv = process.env): FoundToken {
  const file = path.join(stateDir, TOKEN_FILE);
  const candidates: FoundToken[] = [];
  if (env.NBDEPLOY_TOKEN) candidates.push({ token: env.NBDEPLOY_TOKEN, source: 'NBDEPLOY_TOKEN' });
  const stored = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (stored) candidates.push({ token: stored, source: file });
  const running = readServiceNote(stateDir);
  if (running) {
    const accepted = candidates.find((c) => tokenHash(c.token) === running.token_sha256);
    if (accepted) return accepted;
    throw new Error(
      `the service running on ${running.url} (pid ${running.pid}) was given its token with --token or NBDEPLOY_TOKEN, ` +
        `and ${candidates.map((c) => c.source).join(' and ') || 'nothing here'} holds another one; use the token it was given`
    );
  }
  if (candidates[0]) return candidates[0];
  throw new Error(`no token yet: ${file} does not exist (the service writes it on its first start without --token) and NBDEPLOY_TOKEN is not set`);
}
