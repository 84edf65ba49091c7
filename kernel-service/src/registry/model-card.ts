/**
 * What the service reads of a version's model card (stored in its metadata as
 * `nbdeploy.card`, written by `nd.export`): the features it flags as personal data, whose
 * values the service never keeps or shows in clear (capture hashes them; integrity details
 * leave their examples out).
 */
import type { VersionRecord } from './registry.js';

/** The features (or inputs) the version's model card flags as personal data. */
export function personalDataOf(record: Pick<VersionRecord, 'metadata'>): ReadonlySet<string> {
  const card = ((record.metadata.nbdeploy as Record<string, unknown> | undefined)?.card ?? {}) as { personal_data?: unknown };
  return new Set(Array.isArray(card.personal_data) ? card.personal_data.map(String) : []);
}
