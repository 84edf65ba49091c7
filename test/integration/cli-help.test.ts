/** `--help` on `nbdeploy` and on every command prints usage on stdout and exits 0, starting nothing. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/service.js';

function nbdeploy(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The commands `nbdeploy --help` lists. */
function commands(): string[] {
  const usage = nbdeploy('--help').stdout;
  const listed = usage.split('commands:\n')[1]!.split('\n\n')[0]!;
  return listed.split('\n').map((line) => line.trim().split(/\s+/)[0]!);
}

describe('nbdeploy --help', () => {
  it('should list the commands and exit 0', () => {
    for (const flag of ['--help', '-h', 'help']) {
      const run = nbdeploy(flag);
      expect(run.status, flag).toBe(0);
      expect(run.stdout).toMatch(/^usage: nbdeploy <command>/);
    }
    expect(commands()).toEqual(expect.arrayContaining(['serve', 'lab', 'token', 'version']));
  });

  it.each(commands())('should print the usage of %s and exit 0', (command) => {
    for (const args of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const run = nbdeploy(...args);
      expect(run.status, args.join(' ')).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^usage: nbdeploy ${command}\\b`));
      expect(run.stderr).toBe('');
    }
  });

  it('should refuse an unknown option with the command\'s usage and exit 2', () => {
    const run = nbdeploy('serve', '--prot', '9000');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--prot'");
    expect(run.stderr).toContain('usage: nbdeploy serve');
    expect(nbdeploy('serve', '--port', 'eighty').stderr).toContain('--port must be an integer, got "eighty"');
    expect(nbdeploy('nope').status).toBe(2);
    expect(nbdeploy('help', 'nope').stderr).toContain('unknown command "nope"');
  });
});
