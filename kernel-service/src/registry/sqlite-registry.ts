/**
 * The embedded registry on SQLite (better-sqlite3). Every change runs in one transaction
 * together with its audit entry, so a process killed at any point leaves either the
 * whole change or none of it. The audit log refuses UPDATE and DELETE.
 */
import { ServiceError } from '../errors.js';
import { type Migration, type SqliteDatabase, migrate, openDatabase } from '../storage/sqlite-database.js';
import type {
  Actor,
  AuditEntry,
  Deployment,
  DeploymentChange,
  FeedbackRecord,
  ModelSummary,
  NewVersion,
  Registry,
  ReviewDecision,
  ReviewRecord,
  Stage,
  ValidationRecord,
  VersionRecord
} from './registry.js';
import { SqliteAuditLog, chainAuditLog } from './audit-log.js';
import { planDeploymentChange, requireVersion } from './deployment-plan.js';
import { type DeploymentRow, type ReviewRow, VERSION_COLUMNS, type ValidationRow, type VersionRow, toDeployment, toReview, toValidation, toVersion, withValidation } from './registry-rows.js';

/** Exported for the test that migrates a database an older build wrote. */
export const REGISTRY_MIGRATIONS: Migration[] = [
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
     PRIMARY KEY (model, version),
     UNIQUE (model, sha256)
   );
   CREATE TABLE deployments (
     model TEXT PRIMARY KEY REFERENCES models(name),
     serving INTEGER NOT NULL DEFAULT 1,
     production INTEGER,
     canary_version INTEGER,
     canary_percent REAL NOT NULL DEFAULT 0,
     shadows TEXT NOT NULL DEFAULT '[]',
     updated_at TEXT NOT NULL
   );
   -- Each time a version becomes production; rollback walks it backwards.
   CREATE TABLE production_history (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     at TEXT NOT NULL,
     rolled_back INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     notebook TEXT,
     action TEXT NOT NULL,
     model TEXT,
     version INTEGER,
     details TEXT NOT NULL
   );
   CREATE INDEX audit_by_model ON audit_log(model, id);
   CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
   CREATE TABLE feedback (
     request_id TEXT NOT NULL,
     model TEXT NOT NULL,
     ground_truth TEXT NOT NULL,
     at TEXT NOT NULL,
     PRIMARY KEY (model, request_id)
   );`,
  `CREATE TABLE validations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     passed INTEGER NOT NULL,
     report TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     FOREIGN KEY (model, version) REFERENCES versions(model, version)
   );
   CREATE INDEX validations_by_version ON validations(model, version, id);
   CREATE TABLE reviews (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model TEXT NOT NULL,
     version INTEGER NOT NULL,
     validation_id INTEGER NOT NULL REFERENCES validations(id),
     decision TEXT NOT NULL CHECK (decision IN ('approve', 'request_changes')),
     comment TEXT NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL
   );`,
  // The training profile is kept apart from the version's metadata: it is large, and only
  // validation and monitoring read it.
  `ALTER TABLE versions ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';`,
  // Per-deployment data integrity policy ({kind: "refuse" | "serve"}); kinds left out take the defaults.
  `ALTER TABLE deployments ADD COLUMN integrity_policy TEXT NOT NULL DEFAULT '{}';`,
  // The audit log becomes a hash chain (audit-log.ts) and records the notebook cell.
  chainAuditLog,
  // Per-deployment capture of served requests ({rate, retentionDays}); NULL: none kept.
  `ALTER TABLE deployments ADD COLUMN capture TEXT;`
];

const now = (): string => new Date().toISOString();

export class SqliteRegistry implements Registry {
  private readonly _db: SqliteDatabase;
  /** Whether the registry opened the connection (and closes it) or was given one it shares. */
  private readonly _owned: boolean;

  /** A database file, or the service's shared connection (closed by its owner). */
  constructor(database: string | SqliteDatabase) {
    this._owned = typeof database === 'string';
    this._db = typeof database === 'string' ? openDatabase(database) : database;
    // Builds before the shared runner kept the registry's version in `user_version`.
    migrate(this._db, 'registry', REGISTRY_MIGRATIONS, (db) => db.pragma('user_version', { simple: true }) as number);
    this._auditLog = new SqliteAuditLog(this._db);
  }

  private readonly _auditLog: SqliteAuditLog;

  // Changes run as IMMEDIATE transactions: the monitoring worker writes to the same file from
  // its own connection, and a deferred transaction that reads and then writes fails at once
  // (SQLITE_BUSY, not waiting busy_timeout) when that connection committed in between.
  // Each method does its work synchronously (better-sqlite3) and answers a promise, as the
  // interface asks; the private `_` methods are the synchronous reads the changes build on.

  async registerVersion(input: NewVersion, actor: Actor): Promise<{ version: VersionRecord; created: boolean }> {
    return this._db.transaction(() => {
      const existing = this._db
        .prepare<[string, string], VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = ? AND sha256 = ?`)
        .get(input.model, input.sha256);
      if (existing) {
        return { version: toVersion(existing), created: false };
      }
      const at = now();
      this._db
        .prepare('INSERT OR IGNORE INTO models (name, created_at, created_by) VALUES (?, ?, ?)')
        .run(input.model, at, actor.user);
      this._db
        .prepare('INSERT OR IGNORE INTO deployments (model, updated_at) VALUES (?, ?)')
        .run(input.model, at);
      const { next } = this._db
        .prepare<[string], { next: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE model = ?')
        .get(input.model)!;
      this._db
        .prepare(
          `INSERT INTO versions (model, version, sha256, artifact, signature, metadata, batching, stage, created_at, created_by, profile)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
        )
        .run(
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
        );
      this._audit(actor, 'register', input.model, next, { sha256: input.sha256, stage: input.stage ?? 'none' });
      return { version: this._getVersion(input.model, next)!, created: true };
    }).immediate();
  }

  async listModels(): Promise<ModelSummary[]> {
    const names = this._db.prepare<[], { name: string }>('SELECT name FROM models ORDER BY name').all();
    return names.map(({ name }) => this._getModel(name)!);
  }

  async getModel(name: string): Promise<ModelSummary | undefined> {
    return this._getModel(name);
  }

  async getVersion(model: string, version: number): Promise<VersionRecord | undefined> {
    return this._getVersion(model, version);
  }

  async getProfile(model: string, version: number): Promise<Record<string, unknown> | undefined> {
    const row = this._db
      .prepare<[string, number], { profile: string }>('SELECT profile FROM versions WHERE model = ? AND version = ?')
      .get(model, version);
    return row ? (JSON.parse(row.profile) as Record<string, unknown>) : undefined;
  }

  async changeDeployment(model: string, change: DeploymentChange, actor: Actor, details: Record<string, unknown> = {}): Promise<ModelSummary> {
    return this._db.transaction(() => {
      const summary = this._summaryOrThrow(model);
      const plan = planDeploymentChange(summary, change, change.kind === 'rollback' ? this._rollbackTarget(model) : undefined, details);
      if (plan.rolledBack !== null) {
        this._db.prepare('UPDATE production_history SET rolled_back = 1 WHERE model = ? AND version = ?').run(model, plan.rolledBack);
      }
      for (const { version, stage } of plan.stages) this._setStage(model, version, stage);
      if (plan.newProduction !== null) {
        this._db.prepare('INSERT INTO production_history (model, version, at) VALUES (?, ?, ?)').run(model, plan.newProduction, now());
      }
      if (plan.routing) this._writeDeployment(plan.routing);
      if (plan.batching) {
        this._db.prepare('UPDATE versions SET batching = ? WHERE model = ? AND version = ?').run(JSON.stringify(plan.batching.batching), model, plan.batching.version);
      }
      if (plan.integrityPolicy) {
        this._db.prepare('UPDATE deployments SET integrity_policy = ?, updated_at = ? WHERE model = ?').run(JSON.stringify(plan.integrityPolicy), now(), model);
      }
      if (plan.capture) {
        const settings = plan.capture.settings ? JSON.stringify(plan.capture.settings) : null;
        this._db.prepare('UPDATE deployments SET capture = ?, updated_at = ? WHERE model = ?').run(settings, now(), model);
      }
      this._audit(actor, change.kind, model, plan.auditVersion, plan.details);
      return this._getModel(model)!;
    }).immediate();
  }

  async rollbackTarget(model: string): Promise<number | undefined> {
    return this._rollbackTarget(model);
  }

  async artifactKeys(): Promise<Set<string>> {
    return new Set(this._db.prepare<[], { artifact: string }>('SELECT DISTINCT artifact FROM versions').all().map((r) => r.artifact));
  }

  async addValidation(model: string, version: number, passed: boolean, report: Record<string, unknown>, actor: Actor): Promise<ValidationRecord> {
    return this._db.transaction(() => {
      requireVersion(this._summaryOrThrow(model), version);
      const { lastInsertRowid } = this._db
        .prepare('INSERT INTO validations (model, version, passed, report, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)')
        .run(model, version, passed ? 1 : 0, JSON.stringify(report), now(), actor.user);
      this._audit(actor, 'validate', model, version, { validation_id: Number(lastInsertRowid), passed });
      return this._latestValidation(model, version)!;
    }).immediate();
  }

  async latestValidation(model: string, version: number): Promise<ValidationRecord | undefined> {
    return this._latestValidation(model, version);
  }

  async getValidation(id: number): Promise<ValidationRecord | undefined> {
    const row = this._db.prepare<[number], ValidationRow>('SELECT * FROM validations WHERE id = ?').get(id);
    return row ? toValidation(row) : undefined;
  }

  async addReview(model: string, version: number, decision: ReviewDecision, comment: string, actor: Actor): Promise<ReviewRecord> {
    return this._db.transaction(() => {
      requireVersion(this._summaryOrThrow(model), version);
      const validation = this._latestValidation(model, version);
      if (!validation) {
        throw new ServiceError('NBD_ERR_DEPLOY_CONFLICT', { reason: `version ${version} of "${model}" has no validation report to review; validate it first` });
      }
      this._refuseOwnWork(this._getVersion(model, version)!, actor);
      const { lastInsertRowid } = this._db
        .prepare('INSERT INTO reviews (model, version, validation_id, decision, comment, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(model, version, validation.id, decision, comment, now(), actor.user);
      this._audit(actor, 'review', model, version, { validation_id: validation.id, decision, comment });
      return this._reviews(model, version).find((r) => r.id === Number(lastInsertRowid))!;
    }).immediate();
  }

  async reviews(model: string, version: number): Promise<ReviewRecord[]> {
    return this._reviews(model, version);
  }

  async recordFeedback(records: readonly FeedbackRecord[], actor: Actor): Promise<number> {
    return this._db.transaction(() => {
      const insert = this._db.prepare(
        `INSERT INTO feedback (request_id, model, ground_truth, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model, request_id) DO UPDATE SET ground_truth = excluded.ground_truth, at = excluded.at`
      );
      const at = now();
      for (const r of records) {
        insert.run(r.requestId, r.model, JSON.stringify(r.groundTruth), at);
      }
      const models = [...new Set(records.map((r) => r.model))];
      for (const model of models) {
        this._audit(actor, 'feedback', model, null, { count: records.filter((r) => r.model === model).length });
      }
      return records.length;
    }).immediate();
  }

  async audit(filter: { model?: string; limit?: number }): Promise<AuditEntry[]> {
    return this._auditLog.entries(filter);
  }

  async changeMark(): Promise<number> {
    return this._auditLog.head();
  }

  async appendAudit(actor: Actor, action: string, model: string | null, version: number | null, details: Record<string, unknown>): Promise<void> {
    this._audit(actor, action, model, version, details);
  }

  async close(): Promise<void> {
    if (this._owned) this._db.close();
  }

  private _getModel(name: string): ModelSummary | undefined {
    const model = this._db
      .prepare<[string], { name: string; created_at: string }>('SELECT name, created_at FROM models WHERE name = ?')
      .get(name);
    if (!model) return undefined;
    const versions = this._db
      .prepare<[string], VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = ? ORDER BY version`)
      .all(name)
      .map((row) => this._withValidation(toVersion(row)));
    const row = this._db.prepare<[string], DeploymentRow>('SELECT * FROM deployments WHERE model = ?').get(name)!;
    return { name, createdAt: model.created_at, deployment: toDeployment(row), versions };
  }

  private _getVersion(model: string, version: number): VersionRecord | undefined {
    const row = this._db
      .prepare<[string, number], VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = ? AND version = ?`)
      .get(model, version);
    return row ? this._withValidation(toVersion(row)) : undefined;
  }

  private _latestValidation(model: string, version: number): ValidationRecord | undefined {
    const row = this._db
      .prepare<[string, number], ValidationRow>('SELECT * FROM validations WHERE model = ? AND version = ? ORDER BY id DESC LIMIT 1')
      .get(model, version);
    return row ? toValidation(row) : undefined;
  }

  private _reviews(model: string, version: number): ReviewRecord[] {
    return this._db
      .prepare<[string, number], ReviewRow>('SELECT * FROM reviews WHERE model = ? AND version = ? ORDER BY id')
      .all(model, version)
      .map(toReview);
  }

  private _withValidation(version: VersionRecord): VersionRecord {
    const latest = this._latestValidation(version.model, version.version);
    if (!latest) return version;
    const validatedBy = this._db
      .prepare<[string, number], { created_by: string }>('SELECT DISTINCT created_by FROM validations WHERE model = ? AND version = ? ORDER BY created_by')
      .all(version.model, version.version)
      .map((r) => r.created_by);
    return withValidation(version, latest, validatedBy, this._reviews(version.model, version.version));
  }

  /** Nobody reviews a version they registered or validated (approving it or not). */
  private _refuseOwnWork(version: VersionRecord, actor: Actor): void {
    const did = version.createdBy === actor.user ? 'registered' : version.validatedBy.includes(actor.user) ? 'validated' : null;
    if (did) throw new ServiceError('NBD_ERR_OWN_WORK', { user: actor.user, did, model: version.model, version: version.version });
  }

  private _summaryOrThrow(model: string): ModelSummary {
    const summary = this._getModel(model);
    if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    return summary;
  }

  private _setStage(model: string, version: number, stage: Stage): void {
    this._db.prepare('UPDATE versions SET stage = ? WHERE model = ? AND version = ?').run(stage, model, version);
  }

  private _writeDeployment(d: Deployment): void {
    this._db
      .prepare(
        `UPDATE deployments SET serving = ?, production = ?, canary_version = ?, canary_percent = ?, shadows = ?, updated_at = ?
         WHERE model = ?`
      )
      .run(d.serving ? 1 : 0, d.production, d.canary?.version ?? null, d.canary?.percent ?? 0, JSON.stringify(d.shadows), now(), d.model);
  }

  private _rollbackTarget(model: string): number | undefined {
    const current = this._getModel(model)?.deployment.production ?? null;
    if (current === null) return undefined;
    const row = this._db
      .prepare<[string, number], { version: number }>(
        `SELECT version FROM production_history
         WHERE model = ? AND version != ? AND rolled_back = 0 ORDER BY id DESC LIMIT 1`
      )
      .get(model, current);
    return row?.version;
  }

  private _audit(actor: Actor, action: string, model: string | null, version: number | null, details: Record<string, unknown>): void {
    this._auditLog.append(actor, action, model, version, details);
  }
}

