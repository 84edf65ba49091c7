import { readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { RestClient } from '../support/http.js';
import { fixture, fp32, variant } from '../support/models.js';
import { NotebookClient, type Reply } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, makeTempDir, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];
const MODEL = 'crashy';
/**
 * Milliseconds between starting a change and kill -9, one iteration each. Long and short
 * delays alternate, so that a registration that completed is followed by a deploy of it
 * that gets cut off.
 */
const KILL_DELAYS = [200, 0, 120, 3, 60, 8, 30, 15];
/** A large doc_string makes each version a few MB, widening the window a kill can land in. */
const PADDING = 'x'.repeat(1024 * 1024);

afterAll(cleanup);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface VersionView {
  version: number;
  sha256: string;
  stage: string;
}

/** Checks that the registry, the artifacts and the routes agree after a restart. */
async function expectConsistent(service: ServiceProcess, mustExist: ReadonlySet<string>): Promise<VersionView[]> {
  const rest = new RestClient(service);
  const ws = await NotebookClient.connect(service);
  try {
    const index = await rest.index();
    const { models } = await ws.call({ type: 'list' });
    const model = models.find((m: { name: string }) => m.name === MODEL);
    const versions: VersionView[] = model?.versions ?? [];
    expect(index.map((r) => `${r.name}@${r.version}`)).toEqual(versions.map((v) => `${MODEL}@${v.version}`));
    // Versions are numbered without gaps: a killed registration leaves no hole.
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    // Every registration whose reply arrived before the kill survived it.
    for (const sha of mustExist) expect(versions.map((v) => v.sha256)).toContain(sha);

    // Every listed version answers at its versioned route (archived ones refuse, as they should).
    for (const v of versions) {
      const res = await rest.infer(MODEL, [fp32('input', [ROW])], v.version);
      if (v.stage === 'archived') {
        expect(res.status, res.text).toBe(409);
        expect(res.json().code).toBe('NBD_ERR_VERSION_ARCHIVED');
      } else {
        expect(res.status, `version ${v.version}: ${res.text}`).toBe(200);
        expect(res.json().outputs[0].data).toEqual([0]);
      }
    }
    const production = model?.deployment.production ?? null;
    expect(versions.filter((v) => v.stage === 'production').map((v) => v.version)).toEqual(production === null ? [] : [production]);
    if (production !== null) {
      const res = await rest.infer(MODEL, [fp32('input', [ROW])]);
      expect(res.status, res.text).toBe(200);
      expect(res.json().model_version).toBe(String(production));
    }

    // The artifacts are exactly the registered ones: nothing half-written, nothing orphaned.
    const folders = readdirSync(path.join(service.stateDir, 'artifacts'));
    expect(folders.filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect(folders.sort()).toEqual(versions.map((v) => v.sha256).sort());

    // The audit log lists exactly the registered versions, once each.
    const { entries } = await ws.call({ type: 'audit', model: MODEL, limit: 10_000 });
    const registered = entries.filter((e: Reply) => e.action === 'register').map((e: Reply) => e.version as number);
    expect(registered.sort((a: number, b: number) => a - b)).toEqual(versions.map((v) => v.version));
    return versions;
  } finally {
    await ws.close();
  }
}

describe('crash consistency', () => {
  it('should keep the registry consistent when killed -9 during registers and deploys', async () => {
    const stateDir = path.join(makeTempDir(), 'state');
    let service = await startService({ stateDir });
    const survivors = new Set<string>();
    {
      const ws = await NotebookClient.connect(service);
      const first = await ws.register(MODEL, IRIS);
      survivors.add(first.sha256);
      await ws.promote(MODEL, 1);
      await ws.close();
    }

    for (const [i, delay] of KILL_DELAYS.entries()) {
      const known = await expectConsistent(service, survivors);
      const bytes = variant(IRIS, `crash-${i} ${PADDING}`);
      const ws = await NotebookClient.connect(service);
      const rest = new RestClient(service);
      // A register (alternately over /ws and over the repository API) and a deploy of the
      // newest known version, both in flight when the kill comes.
      // (Their failures are expected: the kill cuts them off.)
      const registering = (
        i % 2 === 0
          ? ws.register(MODEL, bytes).then((reply) => survivors.add(reply.sha256))
          : rest.register(MODEL, { 'model.onnx': bytes }).then((reply) => survivors.add(reply.sha256))
      ).catch((error: Error) => error);
      const newest = known.at(-1)!;
      const deploying = (
        newest.stage === 'production'
          ? ws.request({ type: 'rollback', model: MODEL })
          : ws.request({ type: 'deploy', model: MODEL, version: newest.version, override: `crash test ${i}` })
      ).catch((error: Error) => error);
      await sleep(delay);
      expect((await service.kill()).signal).toBe('SIGKILL');
      await Promise.all([registering, deploying]);
      await ws.close();

      service = await startService({ stateDir });
    }

    const versions = await expectConsistent(service, survivors);
    expect(versions.length).toBeGreaterThanOrEqual(1);
    expect((await service.stop()).code).toBe(0);

    // The audit log is append-only in the database itself.
    const db = new Database(path.join(stateDir, 'registry.sqlite'));
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const count = (db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
      expect(count).toBeGreaterThan(0);
      expect(() => db.prepare("UPDATE audit_log SET actor = 'mallory'").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)').run()).toThrow(/append-only/);
      expect((db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n).toBe(count);
      expect((db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE actor = 'mallory'").get() as { n: number }).n).toBe(0);
      const registered = db.prepare("SELECT version FROM audit_log WHERE action = 'register' AND model = ? ORDER BY version").all(MODEL);
      expect(registered).toEqual(versions.map((v) => ({ version: v.version })));
    } finally {
      db.close();
    }
  });
});
