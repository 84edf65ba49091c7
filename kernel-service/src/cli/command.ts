/** What every `nbdeploy` command is, and the parsing they share. */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** One `nbdeploy` command: its name, a one-line summary, its usage text, and what it does. */
export interface Command {
  name: string;
  summary: string;
  /** Printed by `nbdeploy COMMAND --help` and after a usage error. */
  usage: string;
  run(args: string[]): Promise<void>;
}

/** Bad command-line input: printed with the command's usage; exit status 2. */
export class UsageError extends Error {}

/** node:util's parseArgs, its errors as usage errors. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got "${value}"`);
  return n;
}

export function decimal(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}
