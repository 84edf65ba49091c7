/**
 * The governance checklist, from the version's stored metadata: the model card's owner,
 * intended use and training-data source; no feature flagged as personal data among the
 * model's inputs; and the export's parity check (ONNX against the native model) when one ran.
 * Card fields sent with `validate` only fill fields the stored card lacks, and add to its
 * personal-data features: a client can say more, never less.
 */
import type { ChecklistItem } from './report.js';

/** Model-card fields the checklist asks for. */
const CARD_FIELDS: Array<[string, string]> = [
  ['owner', 'Owner'],
  ['intended_use', 'Intended use'],
  ['training_data', 'Training-data source']
];

export type ModelCard = Record<string, unknown>;

function personalData(card: ModelCard): string[] | null {
  const value = card.personal_data;
  if (value === undefined) return null;
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

export function governanceChecklist(
  stored: ModelCard,
  added: ModelCard | undefined,
  inputs: readonly string[],
  parity: Record<string, unknown> | null
): ChecklistItem[] {
  const extra = added ?? {};
  const items: ChecklistItem[] = CARD_FIELDS.map(([id, label]) => {
    const value = stored[id] || extra[id];
    return { id, label, status: value ? 'pass' : 'missing', detail: value ? String(value) : 'not given in the model card' };
  });
  const flaggedStored = personalData(stored);
  const flaggedAdded = personalData(extra);
  const flagged = flaggedStored === null && flaggedAdded === null ? null : [...new Set([...(flaggedStored ?? []), ...(flaggedAdded ?? [])])];
  const used = [...new Set((flagged ?? []).filter((p) => inputs.includes(p)))].sort();
  items.push({
    id: 'personal_data',
    label: 'Personal-data features kept out of the model',
    status: used.length ? 'fail' : flagged ? 'pass' : 'missing',
    detail: used.length
      ? `the model takes ${used.join(', ')}, flagged as personal data`
      : flagged
        ? `flagged: ${flagged.join(', ') || 'none'}`
        : 'no features flagged (card field personal_data)'
  });
  if (parity && typeof parity.passed === 'boolean') {
    items.push({
      id: 'parity',
      label: 'ONNX export answers as the native model',
      status: parity.passed ? 'pass' : 'fail',
      detail: parity.passed ? `checked on ${String(parity.rows ?? 'the sample')} rows at export` : String(parity.detail ?? 'the export differs from the native model')
    });
  }
  return items;
}
