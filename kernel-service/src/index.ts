export { Service, DATABASE_FILE, ARTIFACTS_DIR } from './service.js';
export { type ServiceOptions, DEFAULT_OPTIONS, resolveOptions } from './options.js';
export { ERRORS, ServiceError, type ErrorCode } from './errors.js';
export * from './protocol/datatypes.js';
export * as oip from './protocol/oip.js';
export * as notebookProtocol from './protocol/notebook.js';
export type { Registry, ModelSummary, VersionRecord, Deployment, Stage, Actor, AuditEntry } from './registry/registry.js';
export { SqliteRegistry } from './registry/sqlite-registry.js';
