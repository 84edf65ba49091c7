/**
 * Hour blocks, as both monitoring store backends keep them: every window of an hour merged
 * into one state per (model, version, hour), kept as windows are saved, so that a long span
 * merges a block per hour. What a save adds to each block is computed here once; the
 * backends only read and write the rows.
 */
import type { WindowState } from './window.js';

/** Merges an added window state into a stored one (window.ts's `mergeWindowStates`). */
export type MergeWindows = (stored: WindowState, added: WindowState) => WindowState;

/** Blocks are this long: one per hour of windows. */
export const BLOCK_SECONDS = 3600;

/** The start of the block a window starting at `start` (ms) belongs to. */
export function blockStart(start: number): number {
  return Math.floor(start / (BLOCK_SECONDS * 1000)) * BLOCK_SECONDS * 1000;
}

/** A window as the first of its block. */
export function asBlock(w: WindowState): WindowState {
  return { ...w, seconds: BLOCK_SECONDS };
}

/** A block with one more window merged in (its start: the earliest window's). */
export function addToBlock(block: WindowState, w: WindowState, mergeWindows: MergeWindows): WindowState {
  return { ...mergeWindows(block, w), start: Math.min(block.start, w.start), seconds: BLOCK_SECONDS };
}

/** The block a stored block becomes with `added` (what a save adds to it) merged in; `added` itself when none is stored. */
export function mergedBlock(stored: WindowState | undefined, added: WindowState, mergeWindows: MergeWindows): WindowState {
  return stored ? addToBlock(stored, added, mergeWindows) : added;
}

/**
 * What saving these windows adds to each hour block: per (model, version, hour), the windows
 * as given (not as merged with stored ones, whose traffic the block already has) merged.
 */
export function blockAdditions(windows: readonly WindowState[], mergeWindows: MergeWindows): WindowState[] {
  const blocks = new Map<string, WindowState>();
  for (const w of windows) {
    const key = `${w.model}\u0000${w.modelVersion}\u0000${blockStart(w.start)}`;
    const block = blocks.get(key);
    blocks.set(key, block ? addToBlock(block, w, mergeWindows) : asBlock(w));
  }
  return [...blocks.values()];
}

