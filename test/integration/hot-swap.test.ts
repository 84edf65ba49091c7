import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RestClient, metricValue } from '../support/http.js';
import { fixture, variant } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { decodeOutputs, encodeTensor } from '../support/tensors.js';

const SLOW = fixture('slow_identity.onnx');
const MODEL = 'slow';
const VERSIONS = 6;
const HTTP_CLIENTS = 12;
const WS_CLIENTS = 4;
/** Requests that complete between two swaps, and after the last one. */
const BETWEEN_SWAPS = 60;
/** A hard bound on the load, whatever happens. */
const MAX_REQUESTS = 4000;

let service: ServiceProcess;
let agent: Agent;
let rest: RestClient;
let control: NotebookClient;

beforeAll(async () => {
  service = await startService();
  agent = new Agent({ keepAlive: true, maxSockets: HTTP_CLIENTS });
  rest = new RestClient(service, agent);
  control = await NotebookClient.connect(service);
  for (let v = 1; v <= VERSIONS; v++) {
    const reply = await control.register(MODEL, v === 1 ? SLOW : variant(SLOW, `v${v}`));
    expect(reply.version).toBe(v);
  }
  await control.promote(MODEL, 1);
});

afterAll(async () => {
  await control?.close();
  agent?.destroy();
  await cleanup();
});

/** A row of 64 floats that tells requests apart (and survives FP32 exactly). */
const rowOf = (n: number): number[] => Array.from({ length: 64 }, (_, j) => (n % 10_000) * 64 + j);

interface Outcome {
  /** The production version confirmed when the request was sent ... */
  confirmedAtSend: number;
  /**
   * ... and the newest version whose promotion had been asked for when the answer came. A
   * request reaches the service some time after it is sent (more so on a busy machine),
   * while models load in worker threads beside it: a promotion asked for after the send may
   * be done by the time it arrives.
   */
  requestedAtReply: number;
  version: number | null;
  error: string | null;
}

describe('hot swap under load', () => {
  it('should promote new versions under sustained concurrent load with zero failed requests', async () => {
    let confirmed = 1;
    let requested = 1;
    let sent = 0;
    let completed = 0;
    let sentAfterLastSwap = 0;
    let swapsDone = false;
    const outcomes: Outcome[] = [];
    const progress: Array<{ at: number; resolve: () => void }> = [];

    const keepGoing = (): boolean => sent < MAX_REQUESTS && !(swapsDone && sentAfterLastSwap >= BETWEEN_SWAPS);
    const record = (sent: Omit<Outcome, 'requestedAtReply'>): void => {
      const outcome = { ...sent, requestedAtReply: requested };
      outcomes.push(outcome);
      completed++;
      for (const p of progress.filter((p) => completed >= p.at || !keepGoing())) {
        progress.splice(progress.indexOf(p), 1);
        p.resolve();
      }
    };
    const untilCompleted = (at: number): Promise<void> =>
      completed >= at || !keepGoing() ? Promise.resolve() : new Promise((resolve) => progress.push({ at, resolve }));
    const begin = (): { n: number; confirmedAtSend: number } => {
      if (swapsDone) sentAfterLastSwap++;
      return { n: sent++, confirmedAtSend: confirmed };
    };

    const httpClient = async (): Promise<void> => {
      while (keepGoing()) {
        const { n, ...at } = begin();
        const row = rowOf(n);
        try {
          const res = await rest.infer(MODEL, [{ name: 'x', datatype: 'FP32', shape: [1, 64], data: row }]);
          if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
          const body = res.json();
          if (JSON.stringify(body.outputs[0].data) !== JSON.stringify(row)) throw new Error(`request ${n} got another request's outputs`);
          record({ ...at, version: Number(body.model_version), error: null });
        } catch (error) {
          record({ ...at, version: null, error: `http: ${(error as Error).message}` });
        }
      }
    };

    const wsClient = async (): Promise<void> => {
      const ws = await NotebookClient.connect(service);
      try {
        while (keepGoing()) {
          const { n, ...at } = begin();
          const row = rowOf(n);
          try {
            const reply = await ws.callBinary({ type: 'infer', model: MODEL, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 64] }] }, [encodeTensor('FP32', row)]);
            const y = decodeOutputs(reply.outputs, reply.payload!).get('y');
            if (JSON.stringify(y) !== JSON.stringify(row)) throw new Error(`request ${n} got another request's outputs`);
            record({ ...at, version: reply.model_version, error: null });
          } catch (error) {
            record({ ...at, version: null, error: `ws: ${(error as Error).message}` });
          }
        }
      } finally {
        await ws.close();
      }
    };

    const swapper = async (): Promise<void> => {
      try {
        for (let v = 2; v <= VERSIONS; v++) {
          await untilCompleted(completed + BETWEEN_SWAPS);
          requested = v;
          const reply = await control.promote(MODEL, v);
          expect(reply.model.deployment.production).toBe(v);
          confirmed = v;
        }
      } finally {
        swapsDone = true;
      }
    };

    await Promise.all([
      swapper(),
      ...Array.from({ length: HTTP_CLIENTS }, httpClient),
      ...Array.from({ length: WS_CLIENTS }, wsClient)
    ]);

    expect(confirmed).toBe(VERSIONS);
    expect(outcomes.length).toBe(sent);
    expect(outcomes.filter((o) => o.error !== null).map((o) => o.error)).toEqual([]);
    // A request is answered by the version in production when it was sent, or by one whose
    // promotion was asked for before the answer came: never an older one, never one not asked for.
    const misrouted = outcomes.filter((o) => o.version! < o.confirmedAtSend || o.version! > o.requestedAtReply);
    expect(misrouted).toEqual([]);
    // Every version took traffic, and everything sent after the last swap went to the last version.
    expect(new Set(outcomes.map((o) => o.version))).toEqual(new Set(Array.from({ length: VERSIONS }, (_, i) => i + 1)));
    const afterLast = outcomes.filter((o) => o.confirmedAtSend === VERSIONS);
    expect(afterLast.length).toBeGreaterThanOrEqual(BETWEEN_SWAPS);
    expect(new Set(afterLast.map((o) => o.version))).toEqual(new Set([VERSIONS]));

    const metrics = await rest.metrics();
    expect(metricValue(metrics, 'nbdeploy_inference_requests_total', { model: MODEL, outcome: 'error' })).toBe(0);
    expect(metricValue(metrics, 'nbdeploy_inference_requests_total', { model: MODEL, outcome: 'ok' })).toBe(sent);
    // The versions swapped out are released once their last requests finish.
    await vi.waitFor(async () => expect(metricValue(await rest.metrics(), 'nbdeploy_loaded_versions')).toBe(1), { timeout: 10_000, interval: 100 });
    const { model } = await control.call({ type: 'get_model', model: MODEL });
    expect(model.versions.map((v: { stage: string }) => v.stage)).toEqual([...Array(VERSIONS - 1).fill('archived'), 'production']);
  });

  it('should keep answering while rolling back under load', async () => {
    let failures = 0;
    let stop = false;
    const versions = new Set<string>();
    const client = async (): Promise<void> => {
      for (let i = 0; i < 200 && !stop; i++) {
        const res = await rest.infer(MODEL, [{ name: 'x', datatype: 'FP32', shape: [2, 64], data: [...rowOf(i), ...rowOf(i + 1)] }]);
        if (res.status !== 200) failures++;
        else versions.add(res.json().model_version);
      }
    };
    const rollbacks = async (): Promise<void> => {
      try {
        for (const to of [VERSIONS - 1, VERSIONS - 2]) {
          const reply = await control.call({ type: 'rollback', model: MODEL });
          expect(reply.model.deployment.production).toBe(to);
        }
      } finally {
        stop = true;
      }
    };
    await Promise.all([rollbacks(), ...Array.from({ length: 8 }, client)]);
    expect(failures).toBe(0);
    const after = await rest.infer(MODEL, [{ name: 'x', datatype: 'FP32', shape: [1, 64], data: rowOf(1) }]);
    expect(after.json().model_version).toBe(String(VERSIONS - 2));
    expect([...versions].every((v) => Number(v) >= VERSIONS - 2)).toBe(true);
  });
});
