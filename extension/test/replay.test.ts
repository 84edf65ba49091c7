import { describe, expect, it } from 'vitest';

import { REPLAY_MIME_TYPE } from '../src/mime.js';
import type { IReplay } from '../src/payloads.js';
import { RenderedReplay, renderReplay, replayRendererFactory } from '../src/replay.js';
import { mimeModel, rendererOptions } from './helpers.js';

/** What nd.replay keeps in the notebook (Replay.payload()) for a challenger that changed 3 of 20 rows. */
const replay: IReplay = {
  model: 'scale',
  version: 3,
  source: 'captured',
  from: '2026-12-03T10:00:00.000Z',
  to: '2026-12-03T11:00:00.000Z',
  requests: 20,
  rows: 20,
  served_versions: [1],
  agreement: 0.85,
  changed: 3,
  skipped: { personal_data: 2, failed: 0, no_answer: 0, first_error: null },
  truncated: false,
  by_feature: [
    { feature: 'x', kind: 'numeric', bins: [{ bin: '≤ 4', rows: 5, changed: 0, changed_share: 0 }, { bin: '> 4', rows: 15, changed: 3, changed_share: 0.2 }] },
    { feature: 'city', kind: 'categorical', bins: [{ bin: 'lyon', rows: 20, changed: 3, changed_share: 0.15 }] }
  ],
  metrics: { rows: 10, served: { accuracy: 0.9 }, candidate: { accuracy: 0.8 }, delta: { accuracy: -0.1 } },
  latency_ms: { served: { p50: 1.5, p95: 2, p99: 3 }, candidate: { p50: 1.25, p95: 2.5, p99: 4 } },
  changed_rows: { columns: ['at', 'request_id', 'served_version', 'x', 'served', 'candidate', 'changed', 'truth'], rows: [['2026-12-03T10:05:00.000Z', 'r1', 1, 7, 'a', 'b', true, null]] }
};

const text = (nodes: HTMLElement[]): string => nodes.map(n => n.textContent).join('\n');

describe('replay renderer', () => {
  it('should register for the replay MIME type, ahead of the HTML fallback', () => {
    expect(replayRendererFactory.mimeTypes).toEqual(['application/vnd.nbdeploy.replay+json']);
    expect(replayRendererFactory.safe).toBe(true);
    expect(replayRendererFactory.defaultRank).toBeLessThan(50);
  });

  it('should show agreement, changed rows, metrics with their deltas, latency and where the answers changed', () => {
    const nodes = renderReplay(replay);
    const all = text(nodes);
    expect(nodes[0]!.textContent).toContain('Replay of scale version 3 on captured traffic');
    expect(nodes[0]!.textContent).toContain('85.0% agreement · 3 of 20 rows changed');
    expect(all).toContain('2 request(s) not replayed: their personal data was kept only as hashes.');
    expect(all).toContain('Metrics on 10 labelled rows');
    expect(all).toContain('accuracy0.90000.8000-0.1000');
    expect(all).toContain('Latency (ms)');
    expect(all).toContain('Where the answers changed');
    const features = nodes.flatMap(n => [...n.querySelectorAll('.jp-nbdeploy-replayFeature .jp-nbdeploy-label')].map(l => l.textContent));
    expect(features).toEqual(['x', 'city']);
    // Bars are drawn to the largest changed share shown (20 % of x's upper range).
    const bars = nodes.flatMap(n => [...n.querySelectorAll<HTMLElement>('.jp-nbdeploy-replayFeature .jp-nbdeploy-bar')].map(b => b.style.width));
    expect(bars).toEqual(['0%', '100%', '75%']);
    expect(all).toContain('Changed rows (first 1)');
    expect(all).toContain('2026-12-03 10:05 UTC');
  });

  it('should say when no ground truth arrived, and leave out what did not change', () => {
    const all = text(renderReplay({ ...replay, metrics: null, changed: 0, agreement: 1, changed_rows: { columns: [], rows: [] } }));
    expect(all).toContain('No ground truth has arrived');
    expect(all).not.toContain('Where the answers changed');
    expect(all).not.toContain('Changed rows');
  });

  it('should render from the MIME model, and say so when the payload cannot be read', async () => {
    const widget = replayRendererFactory.createRenderer(rendererOptions(REPLAY_MIME_TYPE)) as RenderedReplay;
    await widget.renderModel(mimeModel(REPLAY_MIME_TYPE, replay));
    expect(widget.node.textContent).toContain('85.0% agreement');
    await widget.renderModel(mimeModel(REPLAY_MIME_TYPE, 'nonsense'));
    expect(widget.node.textContent).toBe('This nbdeploy replay output could not be read.');
    widget.dispose();
  });
});
