/**
 * The scheduling priority (nice value) of every thread of a process, read from Linux's
 * /proc/PID/task/TID/stat: how tests see that a worker thread yields the cores.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Thread id → nice value, for each thread of `pid` now. */
export function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command's closing parenthesis: state is field 3, nice field 19.
    nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nices;
}

/** How many threads of `pid` run at nice `nice`. */
export function threadsAtNice(pid: number, nice: number): number {
  return [...threadNices(pid).values()].filter((n) => n === nice).length;
}
