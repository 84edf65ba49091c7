/**
 * The audit log as a table — who changed what, when, from which notebook and cell — for
 * `nd.audit` (python-bridge/nbdeploy/audit.py): the rows, and a MIME bundle with a
 * text/plain and a text/html table.
 */
import { formatTable } from '../cli/table.js';
import { type MimeBundle, escapeHtml, table } from './bundles.js';
import type { AuditEntry } from './replies.js';

/** One change, as `audit` returns it. */
export interface AuditRow {
  time: string;
  user: string;
  action: string;
  model: string | null;
  version: number | null;
  notebook: string | null;
  cell: string | null;
  details: Record<string, unknown>;
}

export const AUDIT_COLUMNS = ['time', 'user', 'action', 'model', 'version', 'notebook', 'cell', 'details'] as const;

export function auditRows(entries: readonly AuditEntry[]): AuditRow[] {
  return entries.map((e) => ({
    time: e.at,
    user: e.actor,
    action: e.action,
    model: e.model,
    version: e.version,
    notebook: e.notebook,
    cell: e.cell ?? null,
    details: e.details
  }));
}

/** An entry's details on one line (an override's reason, a rollback's versions). */
export function detailsText(details: Record<string, unknown>): string {
  return Object.keys(details).length ? JSON.stringify(details) : '';
}

/** A row's cells as text, in {@link AUDIT_COLUMNS}' order. */
export function auditCells(row: AuditRow): string[] {
  return [row.time, row.user, row.action, row.model ?? '', row.version === null ? '' : String(row.version), row.notebook ?? '', row.cell ?? '', detailsText(row.details)];
}

export function auditBundle(rows: readonly AuditRow[], title: string): MimeBundle {
  const text = rows.length ? `${title}\n${formatTable([...AUDIT_COLUMNS], rows.map(auditCells))}`.trimEnd() : `${title}: no entries`;
  const body = rows.length
    ? table([...AUDIT_COLUMNS], rows.map((r) => auditCells(r).map(escapeHtml)))
    : "<div style='font-size:12px;opacity:.75'>no entries</div>";
  return { 'text/plain': text, 'text/html': `<div><h4 style='margin:4px 0'>${escapeHtml(title)}</h4>${body}</div>` };
}
