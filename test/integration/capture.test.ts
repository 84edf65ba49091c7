/**
 * Capture in a real `nbdeploy serve`: a deployment keeps the share of its served requests that
 * `set_capture` asks for (inputs and answers, shadow versions' answers under the same request
 * ids), `captured` reads them back as a table, features the model card flags as personal data
 * are stored only as salted hashes (checked in the database file itself), and bad requests
 * are refused naming what was wrong.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../kernel-service/src/service.js';
import { RestClient } from '../support/http.js';
import { columnModel } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { BIN, type ServiceProcess, cleanup, startService } from '../support/service.js';

/** Inputs `age` (FP32 [N, 1]) and `email` (BYTES [N, 1]); outputs `age_out` = age × `factor`, and `email_out`. */
function model(factor: number): Buffer {
  return columnModel({
    name: 'capture',
    inputs: { age: 'FP32', email: 'BYTES' },
    outputs: { age_out: 'FP32', email_out: 'BYTES' },
    nodes: [
      { opType: 'Mul', input: ['age', 'factor'], output: ['age_out'], name: 'times' },
      { opType: 'Identity', input: ['email'], output: ['email_out'], name: 'email_id' }
    ],
    constants: { factor }
  });
}

const PROFILE = {
  rows: 100,
  features: {
    age: { kind: 'numeric', count: 100, null_rate: 0, min: 20, max: 70, sample: Array.from({ length: 100 }, (_, i) => 20 + (i % 51)) },
    email: { kind: 'categorical', count: 100, null_rate: 0, categories: {}, other_rate: 1, sample: [] }
  }
};
const METADATA = { nbdeploy: { card: { owner: 'tests', personal_data: ['email'] } } };

const age = (values: number[]) => ({ name: 'age', datatype: 'FP32', shape: [values.length, 1], data: values });
const email = (values: string[]) => ({ name: 'email', datatype: 'BYTES', shape: [values.length, 1], data: values });

let service: ServiceProcess;
let ws: NotebookClient;
let rest: RestClient;

beforeAll(async () => {
  service = await startService();
  ws = await NotebookClient.connect(service);
  rest = new RestClient(service);
  for (const name of ['people', 'sampled', 'shadowed']) {
    const v1 = await ws.register(name, model(2), { profile: PROFILE, metadata: METADATA });
    await ws.promote(name, v1.version as number, { override: 'integration test' });
  }
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

const captured = async (name: string, extra: Record<string, unknown> = {}) => (await ws.call({ type: 'captured', model: name, ...extra })) as Record<string, any>;

describe('capture', () => {
  it('should keep every request at rate 1, as a table, with personal data only as salted hashes', async () => {
    const reply = (await ws.call({ type: 'set_capture', model: 'people', rate: 1, retention_days: 3 })) as Record<string, any>;
    expect(reply.model.deployment.capture).toEqual({ rate: 1, retention_days: 3 });
    const sent = [
      { ages: [31], emails: ['ada@example.org'] },
      { ages: [42, 57], emails: ['bob@example.org', 'ada@example.org'] }
    ];
    const ids: string[] = [];
    for (const s of sent) {
      const res = await rest.infer('people', [age(s.ages), email(s.emails)]);
      expect(res.status).toBe(200);
      ids.push(res.json<{ id: string }>().id);
    }
    const table = await captured('people');
    expect(table.columns).toEqual(['at', 'request_id', 'version', 'age', 'email', 'age_out', 'email_out']);
    expect(table.rows.map((r: unknown[]) => r[1])).toEqual([ids[0], `${ids[1]}#0`, `${ids[1]}#1`]);
    expect(table.rows.map((r: unknown[]) => r[3])).toEqual([31, 42, 57]);
    expect(table.rows.map((r: unknown[]) => r[5])).toEqual([62, 84, 114]);
    expect(table.hashed).toEqual(['email']);
    const hashes = table.rows.map((r: unknown[]) => r[4] as string);
    for (const h of hashes) expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(hashes[0]).toBe(hashes[2]); // the same address, the same hash
    expect(hashes[0]).not.toBe(hashes[1]);
    expect(table.truncated).toBe(false);

    // Nowhere in the captured rows of the database file is an address in clear (the model's
    // answer `email_out` is the address too: outputs are not flagged, inputs are).
    const db = new Database(path.join(service.stateDir, DATABASE_FILE), { readonly: true });
    try {
      const stored = db.prepare("SELECT inputs FROM captured_requests WHERE model = 'people'").all() as Array<{ inputs: string }>;
      expect(stored.length).toBe(2);
      for (const row of stored) expect(row.inputs).not.toContain('@example.org');
    } finally {
      db.close();
    }
  });

  it('should keep about the share of requests the rate asks for, and stop at rate 0', async () => {
    await ws.call({ type: 'set_capture', model: 'sampled', rate: 0.25 });
    const requests = 400;
    for (let i = 0; i < requests; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => rest.infer('sampled', [age([i + j]), email([`user${i + j}@example.org`])])));
    }
    const kept = (await captured('sampled')).rows.length;
    // Binomial(400, 0.25): mean 100, σ ≈ 8.7; six σ either side.
    expect(kept).toBeGreaterThan(48);
    expect(kept).toBeLessThan(152);

    const off = (await ws.call({ type: 'set_capture', model: 'sampled', rate: 0 })) as Record<string, any>;
    expect(off.model.deployment.capture).toBeNull();
    for (let i = 0; i < 40; i++) await rest.infer('sampled', [age([1]), email(['x@example.org'])]);
    expect((await captured('sampled')).rows.length).toBe(kept);
  });

  it("should keep a shadow version's answers under the served request's id", async () => {
    const v2 = (await ws.register('shadowed', model(3), { profile: PROFILE, metadata: METADATA })).version as number;
    await ws.call({ type: 'deploy', model: 'shadowed', version: v2, shadow: true });
    await ws.call({ type: 'set_capture', model: 'shadowed', rate: 1 });
    const res = await rest.infer('shadowed', [age([10]), email(['c@example.org'])]);
    const id = res.json<{ id: string }>().id;
    const served = await captured('shadowed');
    let shadow = await captured('shadowed', { shadow: true });
    for (let i = 0; i < 50 && shadow.rows.length === 0; i++) {
      // The shadow answers after the served reply went out.
      await new Promise((resolve) => setTimeout(resolve, 100));
      shadow = await captured('shadowed', { shadow: true });
    }
    expect(served.rows).toEqual([[expect.any(String), id, 1, 10, expect.any(String), 20, expect.any(String)]]);
    expect(shadow.rows).toEqual([[expect.any(String), id, v2, 10, expect.any(String), 30, expect.any(String)]]);
    expect((await captured('shadowed', { version: v2, shadow: true })).rows.length).toBe(1);
    expect((await captured('shadowed', { version: v2 })).rows.length).toBe(0);
  });

  it('should refuse bad requests naming what was wrong', async () => {
    const tooHigh = await ws.request({ type: 'set_capture', model: 'people', rate: 1.5 });
    expect(tooHigh.type).toBe('error');
    expect(String(tooHigh.error)).toContain('rate');
    const unknown = await ws.request({ type: 'set_capture', model: 'nobody', rate: 0.1 });
    expect(unknown.code).toBe('NBD_ERR_MODEL_NOT_FOUND');
    const badTime = await ws.request({ type: 'captured', model: 'people', from: 'yesterday' });
    expect(String(badTime.error)).toContain('ISO 8601');
    const backwards = await ws.request({ type: 'captured', model: 'people', from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(String(backwards.error)).toContain('must be before');
  });

  it('should be set from the command line, as a CI pipeline would', () => {
    const env = { PATH: process.env.PATH ?? '', NBDEPLOY_URL: service.url, NBDEPLOY_TOKEN: service.token };
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'capture', ...args], { encoding: 'utf8', env, timeout: 60_000 });
    const set = run(['people', '0.5', '--retention-days', '2', '--json']);
    expect(set.status, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout).model.deployment.capture).toEqual({ rate: 0.5, retention_days: 2 });
    const text = run(['people', '0']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('people keeps no requests');
    const bad = run(['people', '50']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('RATE is the share of requests kept');
  });
});
