import { describe, expect, it } from 'vitest';
import { timeOrderedId } from '../src/serving/data-plane.js';

describe('timeOrderedId', () => {
  it('should make UUIDv7s that sort in the order they were made', () => {
    const ids = [timeOrderedId(1_700_000_000_000), timeOrderedId(1_700_000_000_001), timeOrderedId(1_700_000_000_256), timeOrderedId(1_800_000_000_000)];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.slice(0, 13)).toBe('018bcfe5-6800'); // 1,700,000,000,000 ms in hex
    const same = new Set(Array.from({ length: 1000 }, () => timeOrderedId(5)));
    expect(same.size).toBe(1000);
  });
});
