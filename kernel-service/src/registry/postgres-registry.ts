/**
 * The registry on PostgreSQL, for replicas that share one database: the same tables and
 * behaviour as the embedded SQLite registry (sqlite-registry.ts). Every change runs in one write
 * transaction together with its audit entry (postgres-audit-log.ts), so a replica killed at any
 * point leaves either the whole change or none of it, and changes from several replicas apply
 * one after another.
 */
import { ServiceError } from '../errors.js';
import {
  type PostgresClient,
  type PostgresMigration,
  type PostgresPool,
  type PostgresQueryable,
  migratePostgres,
  writeTransaction
} from '../storage/postgres-database.js';
import { planDeploymentChange, requireVersion } from './deployment-plan.js';
import { PostgresAuditLog } from './postgres-audit-log.js';
import type {
  Actor,
  AuditEntry,
  DeploymentChange,
  FeedbackRecord,
  ModelSummary,
  NewVersion,
  Registry,
  ReviewDecision,
  ReviewRecord,
  ValidationRecord,
  VersionRecord
} from './registry.js';
import {
  type DeploymentRow,
  type ReviewRow,
  VERSION_COLUMNS,
  type ValidationRow,
  type VersionRow,
  toDeployment,
  toReview,
  toValidation,
  toVersion,
  withValidation
} from './registry-rows.js';

const REGISTRY_MIGRATIONS: PostgresMigration[] = [
  `CREATE TABLE models (
     name TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );
   CREATE TABLE versions (
     model TEXT NOT NULL REFERENCES models(name),
     version INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     artifact TEXT NOT NULL,
     signature TEXT NOT NULL,
     metadata TEXT NOT NULL,
     batching TEXT NOT NULL,
     stage TEXT NOT NULL CHECK (stage IN ('none', 'staging', 'production', 'archived')),
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     profile TEXT NOT NULL DEFAULT '{}',
     PRIMARY KEY (model, version),
     UNIQUE (model, sha256)
   );
   CREATE TABLE deployments (
     model TEXT PRIMARY KEY REFERENCES models(name),
     serving BOOLEAN NOT NULL DEFAULT TRUE,
     production INTEGER,
     canary_version INTEGER,
     canary_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
     shadows TEXT NOT NULL DEFAULT '[]',
     integrity_policy TEXT NOT NULL DEFAULT '{}',
     capture TEXT,
     updated_at TEXT NOT NULL
   );
   -- Each time a version becomes production; rollback walks it backwards.
   CREATE TABLE production_history (
     id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     at TEXT NOT NULL,
     rolled_back BOOLEAN NOT NULL DEFAULT FALSE
   );
   CREATE TABLE feedback (
     request_id TEXT NOT NULL,
     model TEXT NOT NULL,
     ground_truth TEXT NOT NULL,
     at TEXT NOT NULL,
     PRIMARY KEY (model, request_id)
   );
   CREATE TABLE validations (
     id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     passed BOOLEAN NOT NULL,
     report TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     FOREIGN KEY (model, version) REFERENCES versions(model, version)
   );
   CREATE INDEX validations_by_version ON validations(model, version, id);
   CREATE TABLE reviews (
     id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     validation_id INTEGER NOT NULL REFERENCES validations(id),
     decision TEXT NOT NULL CHECK (decision IN ('approve', 'request_changes')),
     comment TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );`
];

const now = (): string => new Date().toISOString();

export class PostgresRegistry implements Registry {
  private constructor(
    private readonly _pool: PostgresPool,
    private readonly _auditLog: PostgresAuditLog
  ) {}

  async changeMark(): Promise<number> {
    const { rows } = await this._pool.query<{ id: number }>('SELECT id FROM audit_head');
    return rows[0]?.id ?? 0;
  }

  /** The registry on the service's pool (closed by its owner), its tables and the audit log's migrated. */
  static async open(pool: PostgresPool): Promise<PostgresRegistry> {
    const auditLog = await PostgresAuditLog.open(pool);
    await migratePostgres(pool, 'registry', REGISTRY_MIGRATIONS);
    return new PostgresRegistry(pool, auditLog);
  }

  registerVersion(input: NewVersion, actor: Actor): Promise<{ version: VersionRecord; created: boolean }> {
    return writeTransaction(this._pool, async (client) => {
      const existing = await client.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = $1 AND sha256 = $2`, [input.model, input.sha256]);
      if (existing.rows[0]) return { version: toVersion(existing.rows[0]), created: false };
      const at = now();
      await client.query('INSERT INTO models (name, created_at, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [input.model, at, actor.user]);
      await client.query('INSERT INTO deployments (model, updated_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [input.model, at]);
      const { rows } = await client.query<{ next: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE model = $1', [input.model]);
      const next = rows[0]!.next;
      await client.query(
        `INSERT INTO versions (model, version, sha256, artifact, signature, metadata, batching, stage, created_at, created_by, profile)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          input.model,
          next,
          input.sha256,
          input.artifact,
          JSON.stringify(input.signature),
          JSON.stringify(input.metadata),
          JSON.stringify(input.batching),
          input.stage ?? 'none',
          at,
          actor.user,
          JSON.stringify(input.profile ?? {})
        ]
      );
      await this._auditLog.append(client, actor, 'register', input.model, next, { sha256: input.sha256, stage: input.stage ?? 'none' });
      return { version: (await versionOf(client, input.model, next))!, created: true };
    });
  }

  async listModels(): Promise<ModelSummary[]> {
    const { rows } = await this._pool.query<{ name: string }>('SELECT name FROM models ORDER BY name');
    const models = await Promise.all(rows.map(({ name }) => modelOf(this._pool, name)));
    return models.filter((m): m is ModelSummary => m !== undefined);
  }

  getModel(name: string): Promise<ModelSummary | undefined> {
    return modelOf(this._pool, name);
  }

  getVersion(model: string, version: number): Promise<VersionRecord | undefined> {
    return versionOf(this._pool, model, version);
  }

  async getProfile(model: string, version: number): Promise<Record<string, unknown> | undefined> {
    const { rows } = await this._pool.query<{ profile: string }>('SELECT profile FROM versions WHERE model = $1 AND version = $2', [model, version]);
    return rows[0] ? (JSON.parse(rows[0].profile) as Record<string, unknown>) : undefined;
  }

  changeDeployment(model: string, change: DeploymentChange, actor: Actor, details: Record<string, unknown> = {}): Promise<ModelSummary> {
    return writeTransaction(this._pool, async (client) => {
      const summary = await summaryOrThrow(client, model);
      const target = change.kind === 'rollback' ? await rollbackTargetOf(client, model, summary.deployment.production) : undefined;
      const plan = planDeploymentChange(summary, change, target, details);
      if (plan.rolledBack !== null) {
        await client.query('UPDATE production_history SET rolled_back = TRUE WHERE model = $1 AND version = $2', [model, plan.rolledBack]);
      }
      for (const { version, stage } of plan.stages) {
        await client.query('UPDATE versions SET stage = $1 WHERE model = $2 AND version = $3', [stage, model, version]);
      }
      if (plan.newProduction !== null) {
        await client.query('INSERT INTO production_history (model, version, at) VALUES ($1, $2, $3)', [model, plan.newProduction, now()]);
      }
      if (plan.routing) {
        const r = plan.routing;
        await client.query(
          `UPDATE deployments SET serving = $1, production = $2, canary_version = $3, canary_percent = $4, shadows = $5, updated_at = $6
           WHERE model = $7`,
          [r.serving, r.production, r.canary?.version ?? null, r.canary?.percent ?? 0, JSON.stringify(r.shadows), now(), model]
        );
      }
      if (plan.batching) {
        await client.query('UPDATE versions SET batching = $1 WHERE model = $2 AND version = $3', [JSON.stringify(plan.batching.batching), model, plan.batching.version]);
      }
      if (plan.integrityPolicy) {
        await client.query('UPDATE deployments SET integrity_policy = $1, updated_at = $2 WHERE model = $3', [JSON.stringify(plan.integrityPolicy), now(), model]);
      }
      if (plan.capture) {
        const settings = plan.capture.settings ? JSON.stringify(plan.capture.settings) : null;
        await client.query('UPDATE deployments SET capture = $1, updated_at = $2 WHERE model = $3', [settings, now(), model]);
      }
      await this._auditLog.append(client, actor, change.kind, model, plan.auditVersion, plan.details);
      return (await modelOf(client, model))!;
    });
  }

  async rollbackTarget(model: string): Promise<number | undefined> {
    const summary = await modelOf(this._pool, model);
    return rollbackTargetOf(this._pool, model, summary?.deployment.production ?? null);
  }

  async artifactKeys(): Promise<Set<string>> {
    const { rows } = await this._pool.query<{ artifact: string }>('SELECT DISTINCT artifact FROM versions');
    return new Set(rows.map((r) => r.artifact));
  }

  addValidation(model: string, version: number, passed: boolean, report: Record<string, unknown>, actor: Actor): Promise<ValidationRecord> {
    return writeTransaction(this._pool, async (client) => {
      requireVersion(await summaryOrThrow(client, model), version);
      const { rows } = await client.query<ValidationRow>(
        'INSERT INTO validations (model, version, passed, report, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [model, version, passed, JSON.stringify(report), now(), actor.user]
      );
      await this._auditLog.append(client, actor, 'validate', model, version, { validation_id: rows[0]!.id, passed });
      return toValidation(rows[0]!);
    });
  }

  latestValidation(model: string, version: number): Promise<ValidationRecord | undefined> {
    return latestValidationOf(this._pool, model, version);
  }

  async getValidation(id: number): Promise<ValidationRecord | undefined> {
    const { rows } = await this._pool.query<ValidationRow>('SELECT * FROM validations WHERE id = $1', [id]);
    return rows[0] ? toValidation(rows[0]) : undefined;
  }

  addReview(model: string, version: number, decision: ReviewDecision, comment: string, actor: Actor): Promise<ReviewRecord> {
    return writeTransaction(this._pool, async (client) => {
      const record = requireVersion(await summaryOrThrow(client, model), version);
      const validation = await latestValidationOf(client, model, version);
      if (!validation) {
        throw new ServiceError('NBD_ERR_DEPLOY_CONFLICT', { reason: `version ${version} of "${model}" has no validation report to review; validate it first` });
      }
      // Nobody reviews a version they registered or validated (approving it or not).
      const did = record.createdBy === actor.user ? 'registered' : record.validatedBy.includes(actor.user) ? 'validated' : null;
      if (did) throw new ServiceError('NBD_ERR_OWN_WORK', { user: actor.user, did, model, version });
      const { rows } = await client.query<ReviewRow>(
        'INSERT INTO reviews (model, version, validation_id, decision, comment, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
        [model, version, validation.id, decision, comment, now(), actor.user]
      );
      await this._auditLog.append(client, actor, 'review', model, version, { validation_id: validation.id, decision, comment });
      return toReview(rows[0]!);
    });
  }

  reviews(model: string, version: number): Promise<ReviewRecord[]> {
    return reviewsOf(this._pool, model, version);
  }

  recordFeedback(records: readonly FeedbackRecord[], actor: Actor): Promise<number> {
    return writeTransaction(this._pool, async (client) => {
      const at = now();
      for (const r of records) {
        await client.query(
          `INSERT INTO feedback (request_id, model, ground_truth, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (model, request_id) DO UPDATE SET ground_truth = excluded.ground_truth, at = excluded.at`,
          [r.requestId, r.model, JSON.stringify(r.groundTruth), at]
        );
      }
      for (const model of new Set(records.map((r) => r.model))) {
        await this._auditLog.append(client, actor, 'feedback', model, null, { count: records.filter((r) => r.model === model).length });
      }
      return records.length;
    });
  }

  audit(filter: { model?: string; limit?: number }): Promise<AuditEntry[]> {
    return this._auditLog.entries(filter);
  }

  appendAudit(actor: Actor, action: string, model: string | null, version: number | null, details: Record<string, unknown>): Promise<void> {
    return writeTransaction(this._pool, (client) => this._auditLog.append(client, actor, action, model, version, details));
  }

  /** The pool is the service's: its owner ends it. */
  async close(): Promise<void> {}
}

async function modelOf(db: PostgresQueryable, name: string): Promise<ModelSummary | undefined> {
  const model = await db.query<{ name: string; created_at: string }>('SELECT name, created_at FROM models WHERE name = $1', [name]);
  if (!model.rows[0]) return undefined;
  const versions = await db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = $1 ORDER BY version`, [name]);
  const deployment = await db.query<DeploymentRow>('SELECT * FROM deployments WHERE model = $1', [name]);
  const records: VersionRecord[] = [];
  for (const row of versions.rows) records.push(await validated(db, toVersion(row)));
  return { name, createdAt: model.rows[0].created_at, deployment: toDeployment(deployment.rows[0]!), versions: records };
}

async function versionOf(db: PostgresQueryable, model: string, version: number): Promise<VersionRecord | undefined> {
  const { rows } = await db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = $1 AND version = $2`, [model, version]);
  return rows[0] ? validated(db, toVersion(rows[0])) : undefined;
}

async function validated(db: PostgresQueryable, version: VersionRecord): Promise<VersionRecord> {
  const latest = await latestValidationOf(db, version.model, version.version);
  if (!latest) return version;
  const by = await db.query<{ created_by: string }>('SELECT DISTINCT created_by FROM validations WHERE model = $1 AND version = $2 ORDER BY created_by', [
    version.model,
    version.version
  ]);
  const reviews = await reviewsOf(db, version.model, version.version);
  return withValidation(version, latest, by.rows.map((r) => r.created_by), reviews);
}

async function latestValidationOf(db: PostgresQueryable, model: string, version: number): Promise<ValidationRecord | undefined> {
  const { rows } = await db.query<ValidationRow>('SELECT * FROM validations WHERE model = $1 AND version = $2 ORDER BY id DESC LIMIT 1', [model, version]);
  return rows[0] ? toValidation(rows[0]) : undefined;
}

async function reviewsOf(db: PostgresQueryable, model: string, version: number): Promise<ReviewRecord[]> {
  const { rows } = await db.query<ReviewRow>('SELECT * FROM reviews WHERE model = $1 AND version = $2 ORDER BY id', [model, version]);
  return rows.map(toReview);
}

async function rollbackTargetOf(db: PostgresQueryable, model: string, current: number | null): Promise<number | undefined> {
  if (current === null) return undefined;
  const { rows } = await db.query<{ version: number }>(
    `SELECT version FROM production_history
     WHERE model = $1 AND version != $2 AND NOT rolled_back ORDER BY id DESC LIMIT 1`,
    [model, current]
  );
  return rows[0]?.version;
}

async function summaryOrThrow(client: PostgresClient, model: string): Promise<ModelSummary> {
  const summary = await modelOf(client, model);
  if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
  return summary;
}
