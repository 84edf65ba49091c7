/**
 * `nbdeploy serve --workers 2`: two processes on one port. A model loaded through whichever
 * worker takes the request is served by both; a worker killed is started again while the
 * other serves; the primary holds the state dir (a second service is refused); SIGTERM stops
 * the primary and every worker, with no process left.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { RestClient } from '../support/http.js';
import { fixture, fp32 } from '../support/models.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

const ROW = [5.1, 3.5, 1.4, 0.2];
let service: ServiceProcess;
let rest: RestClient;
let agent: Agent;

/** The pids of a process's children, from /proc. */
const childrenOf = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  service = await startService({ args: ['--workers', '2'] });
  // A new connection per request: the primary hands connections to the workers in turn.
  agent = new Agent({ keepAlive: false });
  rest = new RestClient(service, agent);
});

afterAll(async () => {
  agent?.destroy();
  await cleanup();
});

/** Twenty answers in a row, whichever worker takes each. */
async function servedByEvery(): Promise<void> {
  await eventually('twenty answers in a row', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await rest.infer('iris', [fp32('input', [ROW])]);
      if (res.status !== 200) return undefined;
    }
    return true;
  });
}

describe('serve --workers 2', () => {
  it('should run two workers under the primary, holding the state dir', async () => {
    expect(childrenOf(service.pid)).toHaveLength(2);
    await expect(startService({ stateDir: service.stateDir })).rejects.toThrow(new RegExp(`in use by another nbdeploy service \\(pid ${service.pid}`));
  });

  it('should serve a model loaded through one worker from both', async () => {
    const load = await rest.load('iris', { 'model.onnx': fixture('iris_classifier.onnx') });
    expect(load.status, load.text).toBe(200);
    await servedByEvery();
  });

  it('should start a killed worker again while the other serves', async () => {
    const [victim] = childrenOf(service.pid);
    process.kill(victim!, 'SIGKILL');
    await eventually('a new worker', async () => {
      const now = childrenOf(service.pid);
      return now.length === 2 && !now.includes(victim!) ? now : undefined;
    });
    await servedByEvery();
    expect(service.log).toMatch(new RegExp(`worker ${victim} stopped \\(SIGKILL\\); starting another`));
  });

  it('should stop every worker on SIGTERM, and give the state dir up', async () => {
    const workers = childrenOf(service.pid);
    const exit = await service.stop();
    expect(exit.code).toBe(0);
    for (const pid of workers) await eventually(`worker ${pid} gone`, async () => (isAlive(pid) ? undefined : true));
    const next = await startService({ stateDir: service.stateDir });
    await next.stop();
  });
});
