/**
 * Replicas of one service on PostgreSQL: three `nbdeploy serve --database URL` processes, each
 * with a state dir of its own (as on three machines), on one throwaway PostgreSQL server. A
 * model loaded through one is served by all; a production deploy through a second reaches all
 * within a few seconds while load runs, with no failed request; a replica killed during a
 * deploy leaves a consistent registry and the others serving; a replica whose listening
 * connection drops listens again; the audit log refuses UPDATE.
 * Starting fails with what was wrong: a URL that is not one, a server that does not answer, a
 * database that does not exist (never printing the password), no shared admin token.
 * Monitoring is merged across them: `status` on any replica counts the traffic of all, and
 * ground truth sent to one joins predictions another served.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR } from '../../kernel-service/src/storage/service-storage.js';
import { SERVICE_NOTE } from '../../kernel-service/src/service-note.js';
import { LISTENER_APPLICATION_NAME } from '../../kernel-service/src/storage/postgres-changes.js';
import { NotebookClient } from '../support/notebook-client.js';
import { postgresBinDir, usePostgres } from '../support/postgres.js';
import { deployUnderLoad, eventually, feedbackJoinsAcrossReplicas, killDuringDeploy, loadThroughOne, statusCountsEveryReplica } from '../support/replicas.js';
import { request } from '../support/http.js';
import { type ServiceProcess, cleanup, makeTempDir, runNbdeploy, startService } from '../support/service.js';

const postgres = usePostgres();
const TOKEN = 'replicas-postgres-admin-token';

let url: string;
let replicas: ServiceProcess[];
let clients: NotebookClient[];

const replicaArgs = (): string[] => ['--database', url, '--token', TOKEN];

beforeAll(async () => {
  url = await postgres().freshDatabase();
  replicas = [];
  // One after another: the first migrates, the others find it done.
  for (let i = 0; i < 3; i++) replicas.push(await startService({ args: replicaArgs() }));
  clients = await Promise.all(replicas.map((r) => NotebookClient.connect(r)));
}, 90_000);

afterAll(async () => {
  await Promise.all((clients ?? []).map((c) => c.close()));
  await cleanup();
});

describe('replicas of one service on PostgreSQL', () => {
  it('should keep nothing but local things in each state dir: no database, no lock, no token made up', () => {
    // The artifacts' local cache, and the note that tells the command line where the service listens.
    for (const replica of replicas) expect(readdirSync(replica.stateDir).filter((f) => f !== ARTIFACTS_DIR)).toEqual([SERVICE_NOTE]);
  });

  it('should serve a model loaded through one replica on every replica', async () => {
    await loadThroughOne(clients);
  });

  it('should reach every replica with a production deploy made through another within a few seconds, with no failed request under load', async () => {
    await deployUnderLoad(clients, clients[1]!, 10_000);
  });

  it("should count every replica's traffic in the status of any replica", async () => {
    await statusCountsEveryReplica(clients);
  });

  it('should join ground truth sent to one replica with predictions served by another', async () => {
    await feedbackJoinsAcrossReplicas(clients);
  });

  it('should give a user added to the database access on every replica, and take it from all at revoke', async () => {
    const added = runNbdeploy(['users', 'add', 'scraper', '--role', 'viewer', '--database', url]);
    expect(added.status, added.stderr).toBe(0);
    const token = added.stdout.trim();
    for (const replica of replicas.filter((r) => !r.hasExited)) expect((await request(replica.url, '/metrics', { token })).status).toBe(200);
    const revoked = runNbdeploy(['users', 'revoke', 'scraper', '--database', url]);
    expect(revoked.status, revoked.stderr).toBe(0);
    for (const replica of replicas.filter((r) => !r.hasExited)) expect((await request(replica.url, '/metrics', { token })).status).toBe(401);
  });

  it('should listen again when the connection that hears changes drops, and still reach every replica', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1', [
        LISTENER_APPLICATION_NAME
      ]);
      expect(rows.map((r) => r.ended)).toEqual([true, true, true]);
    } finally {
      await admin.end();
    }
    for (const replica of replicas) {
      await eventually('the replica listening again', async () => (replica.log.includes("listening for other replicas' changes again") ? true : undefined));
    }
    await deployUnderLoad(clients, clients[0]!, 10_000);
  });

  it('should leave a consistent registry and the others serving when a replica is killed during a deploy', async () => {
    await killDuringDeploy(replicas[2]!, clients[2]!, replicas[0]!, clients[0]!);
    // The other survivor agrees with the first.
    const production = (await clients[0]!.call({ type: 'get_model', model: 'iris' })).model.deployment.production;
    expect((await clients[1]!.call({ type: 'get_model', model: 'iris' })).model.deployment.production).toBe(production);
  });

  it('should keep the audit log append-only in the database', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM audit_log');
      expect(Number(rows[0]!.n)).toBeGreaterThan(0);
      await expect(client.query("UPDATE audit_log SET actor = 'mallory'")).rejects.toThrow('the audit log is append-only');
      await expect(client.query('DELETE FROM audit_log')).rejects.toThrow('the audit log is append-only');
    } finally {
      await client.end();
    }
  });

  it('should serve from a database restored from pg_dump, as docs/scale-out.md backs it up', async () => {
    const dump = path.join(makeTempDir('nbdeploy-dump-'), 'nbdeploy.dump');
    const bin = postgresBinDir();
    const dumped = spawnSync(path.join(bin, 'pg_dump'), ['--format=custom', `--file=${dump}`, url], { encoding: 'utf8' });
    expect(dumped.status, dumped.stderr).toBe(0);
    const restoredUrl = await postgres().freshDatabase();
    const restored = spawnSync(path.join(bin, 'pg_restore'), ['--no-owner', `--dbname=${restoredUrl}`, dump], { encoding: 'utf8' });
    expect(restored.status, restored.stderr).toBe(0);
    const verified = runNbdeploy(['audit', 'verify', '--database', restoredUrl]);
    expect(verified.status, verified.stderr + verified.stdout).toBe(0);
    const live = clients[replicas.findIndex((r) => !r.hasExited)]!;
    const production = (await live.call({ type: 'get_model', model: 'iris' })).model.deployment.production;
    const replica = await startService({ args: ['--database', restoredUrl, '--token', TOKEN] });
    const client = await NotebookClient.connect(replica);
    try {
      const reply = await client.call({ type: 'infer', model: 'iris', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [[5.1, 3.5, 1.4, 0.2]] }] });
      expect(reply.model_version).toBe(production);
    } finally {
      await client.close();
      await replica.stop();
    }
  });
});

describe('starting on PostgreSQL', () => {
  it('should refuse a database URL that is not one', async () => {
    await expect(startService({ args: ['--database', 'mysql://db.example/nbd', '--token', TOKEN] })).rejects.toThrow(
      '--database: the database URL must start with postgresql:// (it starts with mysql://)'
    );
  });

  it('should name an unreachable server and a missing database, never the password', async () => {
    const port = postgres().port;
    const unreachable = startService({ args: ['--database', 'postgresql://nbd:s3cret-pw@127.0.0.1:1/nbd', '--token', TOKEN] });
    await expect(unreachable).rejects.toThrow(/cannot open PostgreSQL database postgresql:\/\/nbd:\*\*\*@127\.0\.0\.1:1\/nbd: nothing listens there/);
    await expect(unreachable).rejects.not.toThrow('s3cret-pw');
    const missing = startService({ args: ['--database', `postgresql://postgres:s3cret-pw@127.0.0.1:${port}/no_such_db`, '--token', TOKEN] });
    await expect(missing).rejects.toThrow(/database "no_such_db" does not exist; create it first/);
    await expect(missing).rejects.not.toThrow('s3cret-pw');
  });

  it('should refuse to start without an admin token every replica shares', async () => {
    await expect(startService({ args: ['--database', url] })).rejects.toThrow(
      /with --database every replica must accept the same admin token.*--token or NBDEPLOY_TOKEN.*openssl rand -hex 24/s
    );
  });
});
