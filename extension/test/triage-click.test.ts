/**
 * One click from a drifted chart cell to the cause: the code of the inserted cell in Python and
 * TypeScript, what a click on each mark asks to inspect, and — in jsdom, on the chart the
 * service's spec draws — clicks on the SVG marks that insert and run the cell below the
 * chart's in a notebook with a kernel, and do nothing anywhere else.
 */
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it } from 'vitest';

import { MONITOR_MIME_TYPE } from '../src/mime.js';
import { RenderedMonitor, monitorRendererFactory } from '../src/monitor.js';
import type { IMonitorPayload } from '../src/payloads.js';
import { type IChartNotebook, type InspectLanguage, inspectCode, inspectLanguage, inspectRequest } from '../src/triage-click.js';
import { mimeModel, rendererOptions } from './helpers.js';
import { chartPanels, monitorChartSpecFor } from '../../kernel-service/src/monitoring/monitor-chart.js';

const T = Date.UTC(2026, 11, 3, 10, 15, 0);
const MINUTE = 60_000;
const DRIFTED = '#e4572e';

/** A monitor payload as the service makes it: the spec from its own chart code, two features, one drifted bucket, integrity violations. */
function payload(model = 'cancer'): IMonitorPayload {
  const series = {
    bucket_seconds: 60,
    settled_until: T + 2 * MINUTE,
    ops: [0, 1, 2].map(i => ({ t: T + i * MINUTE, requests: 10, errors: 0, error_rate: 0, rows: 10, throughput_per_s: 0.17, p50: 1, p95: 2, p99: 3 })),
    versions: [],
    errors: [],
    drift: [
      { t: T, statistic: [0.1, 0.1], p_value: [0.5, 0.6], drifted: [0, 0] },
      { t: T + MINUTE, statistic: [0.6, 0.1], p_value: [0.001, 0.7], drifted: [0, 1] }
    ],
    features: [
      { f: 0, feature: 'mean texture', rank: 1, method: 'ks', threshold: 0.05 },
      { f: 1, feature: 'mean "radius"', rank: 0, method: 'ks', threshold: 0.05 }
    ],
    drift_share: [],
    drift_features: ['mean "radius"', 'mean texture'],
    drift_features_total: 2,
    performance: [],
    integrity: [{ t: T + 2 * MINUTE, kind: 'out_of_range', count: 4 }],
    alerts: []
  };
  const from = new Date(T - MINUTE).toISOString();
  const to = new Date(T + 3 * MINUTE).toISOString();
  const panels = chartPanels(series);
  return {
    model,
    version: 1,
    last_seconds: 240,
    window_seconds: 60,
    bucket_seconds: 60,
    generated_at: to,
    from,
    to,
    series: series as unknown as IMonitorPayload['series'],
    panels,
    spec: monitorChartSpecFor({ from, to, panels, series })
  };
}

/** A notebook as the chart's clicks see it: its kernel's language, and the cells inserted below the chart's and run. */
class FakeNotebook implements IChartNotebook {
  constructor(public language: InspectLanguage | null) {}
  readonly kernelChanged = new Signal<this, void>(this);
  readonly ran: Array<{ chart: HTMLElement; code: string }> = [];
  async insertBelowAndRun(chart: HTMLElement, code: string): Promise<boolean> {
    this.ran.push({ chart, code });
    return true;
  }
}

const widgets: Widget[] = [];

async function chart(notebook: FakeNotebook | null, model = 'cancer'): Promise<RenderedMonitor> {
  const widget = monitorRendererFactory(null, {}, notebook ? () => notebook : null).createRenderer(rendererOptions(MONITOR_MIME_TYPE)) as RenderedMonitor;
  widgets.push(widget);
  Widget.attach(widget, document.body);
  await widget.renderModel(mimeModel(MONITOR_MIME_TYPE, payload(model)));
  return widget;
}

const marks = (widget: RenderedMonitor, layer: string): SVGPathElement[] => [...widget.node.querySelectorAll<SVGPathElement>(`.${layer}_marks path`)];
const drifted = (widget: RenderedMonitor) => marks(widget, 'drift_cells').filter(p => p.getAttribute('fill') === DRIFTED);
const undrifted = (widget: RenderedMonitor) => marks(widget, 'drift_cells').filter(p => p.getAttribute('fill') !== DRIFTED);

/** A click as the browser sends it: vega's SVG handler reads the mark from the target. */
function click(node: Element): void {
  node.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));
}

/** Lets the click's promise chain (insert, run) or vega's dataflow finish. */
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

/** The cursor over a mark: vega sets its container's as the pointer moves over a mark with a `cursor`. */
async function cursorOver(widget: RenderedMonitor, node: Element): Promise<string> {
  node.dispatchEvent(new MouseEvent('pointermove', { bubbles: true }));
  await widget.chart.view!.runAsync();
  return widget.node.querySelector<HTMLElement>('.jp-nbdeploy-vega')!.style.cursor;
}

afterEach(() => {
  widgets.splice(0).forEach(w => w.dispose());
});

describe('inspectCode', () => {
  const request = { model: 'cancer', feature: 'mean radius', start: '2026-12-03T10:15:00.000Z', end: '2026-12-03T10:16:00.000Z' };

  it('should call nd.inspect with the model, feature and window in Python', () => {
    expect(inspectCode('python', request)).toBe('nd.inspect("cancer", feature="mean radius", start="2026-12-03T10:15:00.000Z", end="2026-12-03T10:16:00.000Z")');
  });

  it('should await nd.inspect with an options object in TypeScript', () => {
    expect(inspectCode('typescript', request)).toBe(
      'await nd.inspect("cancer", { feature: "mean radius", start: "2026-12-03T10:15:00.000Z", end: "2026-12-03T10:16:00.000Z" })'
    );
  });

  it('should quote names with quotes, backslashes and line breaks as string literals', () => {
    const odd = { ...request, model: "it's", feature: 'a "b"\\c\nd' };
    expect(inspectCode('python', odd)).toBe(
      'nd.inspect("it\'s", feature="a \\"b\\"\\\\c\\nd", start="2026-12-03T10:15:00.000Z", end="2026-12-03T10:16:00.000Z")'
    );
    expect(inspectCode('typescript', odd)).toContain('await nd.inspect("it\'s", { feature: "a \\"b\\"\\\\c\\nd", ');
    // Each literal reads back as the name it quotes (JSON's string syntax is a subset of both languages').
    expect(JSON.parse(inspectCode('python', odd).match(/feature=("(?:[^"\\]|\\.)*")/)![1])).toBe(odd.feature);
  });

  it('should leave out the feature for a window of every feature (an integrity bar)', () => {
    const window = { ...request, feature: null };
    expect(inspectCode('python', window)).toBe('nd.inspect("cancer", start="2026-12-03T10:15:00.000Z", end="2026-12-03T10:16:00.000Z")');
    expect(inspectCode('typescript', window)).toBe('await nd.inspect("cancer", { start: "2026-12-03T10:15:00.000Z", end: "2026-12-03T10:16:00.000Z" })');
  });
});

describe('inspectRequest', () => {
  it('should inspect a drifted cell’s feature over its bucket, and nothing for a cell without drift or other marks', () => {
    const cell = (drifted: boolean) => ({ mark: { name: 'drift_cells_marks' }, datum: { t: T, feature: 'mean radius', drifted } });
    expect(inspectRequest(cell(true), 'cancer', MINUTE)).toEqual({
      model: 'cancer',
      feature: 'mean radius',
      start: '2026-12-03T10:15:00.000Z',
      end: '2026-12-03T10:16:00.000Z'
    });
    expect(inspectRequest(cell(false), 'cancer', MINUTE)).toBeNull();
    expect(inspectRequest({ mark: { name: 'concat_0_layer_0_marks' }, datum: { t: T } }, 'cancer', MINUTE)).toBeNull();
    expect(inspectRequest(null, 'cancer', MINUTE)).toBeNull();
  });

  it('should inspect every feature over an integrity bar’s bucket', () => {
    const bar = { mark: { name: 'integrity_bars_marks' }, datum: { t: T, kind: 'out_of_range', sum_count: 4 } };
    expect(inspectRequest(bar, 'cancer', 5 * MINUTE)).toEqual({ model: 'cancer', feature: null, start: '2026-12-03T10:15:00.000Z', end: '2026-12-03T10:20:00.000Z' });
  });
});

describe('inspectLanguage', () => {
  it('should know Python and TypeScript kernels, and no others', () => {
    expect(['python', 'Python', 'typescript', 'javascript', 'R', '', undefined].map(inspectLanguage)).toEqual(['python', 'python', 'typescript', 'typescript', null, null, null]);
  });
});

describe('RenderedMonitor clicks', () => {
  it('should insert and run nd.inspect below the chart for a drifted cell, in a Python notebook', async () => {
    const notebook = new FakeNotebook('python');
    const widget = await chart(notebook);
    const [cell] = drifted(widget);
    expect(cell).toBeDefined();
    expect(await cursorOver(widget, cell)).toBe('pointer');
    expect(await cursorOver(widget, undrifted(widget)[0])).not.toBe('pointer');
    click(cell);
    await settle();
    expect(notebook.ran).toEqual([
      { chart: widget.node, code: 'nd.inspect("cancer", feature="mean \\"radius\\"", start="2026-12-03T10:16:00.000Z", end="2026-12-03T10:17:00.000Z")' }
    ]);
    // A cell without drift inspects nothing.
    click(undrifted(widget)[0]);
    await settle();
    expect(notebook.ran).toHaveLength(1);
  });

  it('should insert the TypeScript call for an integrity bar, in a TypeScript notebook', async () => {
    const notebook = new FakeNotebook('typescript');
    const widget = await chart(notebook, "o'brien");
    const [bar] = marks(widget, 'integrity_bars');
    expect(await cursorOver(widget, bar)).toBe('pointer');
    click(bar);
    await settle();
    expect(notebook.ran.map(r => r.code)).toEqual(['await nd.inspect("o\'brien", { start: "2026-12-03T10:17:00.000Z", end: "2026-12-03T10:18:00.000Z" })']);
  });

  it('should do nothing without a kernel, and become clickable when one starts', async () => {
    const notebook = new FakeNotebook(null);
    const widget = await chart(notebook);
    const cursor = () => cursorOver(widget, drifted(widget)[0]);
    expect(await cursor()).not.toBe('pointer');
    click(drifted(widget)[0]);
    await settle();
    expect(notebook.ran).toEqual([]);
    notebook.language = 'python';
    notebook.kernelChanged.emit();
    await settle();
    expect(await cursor()).toBe('pointer');
    click(drifted(widget)[0]);
    await settle();
    expect(notebook.ran).toHaveLength(1);
  });

  it('should do nothing outside a notebook (no notebook tracker)', async () => {
    const widget = await chart(null);
    expect(await cursorOver(widget, drifted(widget)[0])).not.toBe('pointer');
    click(drifted(widget)[0]);
    click(marks(widget, 'integrity_bars')[0]);
    await settle();
    expect(widget.node.querySelector('.jp-nbdeploy-monitorStatus')!.getAttribute('data-state')).toBe('snapshot');
  });
});
