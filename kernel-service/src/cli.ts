/**
 * The `nbdeploy` command line: one module per command in cli/, collected here.
 * `nbdeploy --help`, `nbdeploy help COMMAND` and `nbdeploy COMMAND --help` print usage and exit 0;
 * a usage error prints the command's usage on stderr and exits 2.
 */
import { type Command, UsageError } from './cli/command.js';
import { audit, canary, models, promote, rollback, undeploy } from './cli/control-plane.js';
import { backup } from './cli/backup.js';
import { capture } from './cli/capture.js';
import { lab } from './cli/lab.js';
import { migrate } from './cli/migrate.js';
import { serve } from './cli/serve.js';
import { token } from './cli/token.js';
import { users } from './cli/users.js';
import { VERSION } from './version.js';

const version: Command = {
  name: 'version',
  summary: 'print the version',
  usage: 'usage: nbdeploy version\n\nPrints the version of nbdeploy.\n',
  run: async (args) => {
    if (args.length > 0) throw new UsageError(`version takes no arguments, got "${args.join(' ')}"`);
    console.log(VERSION);
  }
};

const COMMANDS: readonly Command[] = [serve, lab, token, users, models, promote, canary, rollback, undeploy, audit, capture, backup, migrate, version];

const USAGE = `usage: nbdeploy <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary}`).join('\n')}

\`nbdeploy COMMAND --help\` (or \`nbdeploy help COMMAND\`) prints a command's options.
`;

/** Whether the command's own arguments (those before `--`) ask for help. */
function asksForHelp(args: readonly string[]): boolean {
  const split = args.indexOf('--');
  return (split === -1 ? args : args.slice(0, split)).some((a) => a === '--help' || a === '-h');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (name === '--version') return version.run([]);
  if (name === 'help') {
    const about = rest[0] === undefined ? undefined : COMMANDS.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && !about) {
      process.stderr.write(`nbdeploy: unknown command "${rest[0]}"\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(about ? about.usage : USAGE);
    return;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`nbdeploy: unknown command "${name}"\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (asksForHelp(rest)) {
    process.stdout.write(command.usage);
    return;
  }
  try {
    await command.run(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`nbdeploy ${command.name}: ${error.message}\n\n${command.usage}`);
    process.exitCode = 2;
  }
}
