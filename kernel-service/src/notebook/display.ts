/**
 * Showing a MIME bundle in the notebook. tslab's public display API (`tslab.display.raw`)
 * sends one MIME type per output, but nbdeploy's outputs are one `display_data` with the
 * nbdeploy payload and its text/plain and text/html fallbacks together (as in Python), so
 * that every viewer picks the richest type it can render. The running tslab kernel's
 * display writer is its `jupyter` module's (tslab.ts); outside a tslab kernel (a script, a
 * test) the text/plain summary goes to stdout instead.
 */
import type { MimeBundle } from './bundles.js';
import { tslabJupyter } from './tslab.js';

type WriteDisplayData = (content: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** Where bundles go; tests and other front ends may replace it with `setDisplay`. */
export type Display = (bundle: MimeBundle) => void;

function tslabWriter(): WriteDisplayData | null {
  const write = tslabJupyter()?.lastWriteDisplayData;
  return typeof write === 'function' ? (write as WriteDisplayData) : null;
}

const defaultDisplay: Display = (bundle) => {
  const write = tslabWriter();
  if (write) write({ data: bundle, metadata: {}, transient: {} }, false);
  else console.log(String(bundle['text/plain'] ?? ''));
};

let current: Display = defaultDisplay;

export function show(bundle: MimeBundle): void {
  current(bundle);
}

/** Replaces where outputs go (null: back to the notebook's). */
export function setDisplay(display: Display | null): void {
  current = display ?? defaultDisplay;
}
