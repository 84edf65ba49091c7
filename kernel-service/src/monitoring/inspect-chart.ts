/**
 * The inspect panel's chart, one Vega-Lite spec for the extension and the static SVG: a
 * numeric feature's captured histogram over the training profile's (overlaid bars on the
 * profile's bins, captured values outside its range as a bin on either side), or a
 * categorical feature's shares, training beside captured, for the categories that moved most.
 * The data is inline (`datasets.bins`), so the chart draws without the service.
 */
import type { InspectFeature } from './inspect-report.js';

/** The chart as the payload carries it: the spec reads the dataset `bins`. */
export interface InspectChart {
  spec: Record<string, unknown>;
  datasets: { bins: Array<Record<string, number | string>> };
}

/** Categories drawn at most. */
const CHART_CATEGORIES = 15;
const COLORS = { domain: ['training', 'captured'], range: ['#8c8c8c', '#e8710a'] };

/** The chart of the feature's distribution, or null when it has none (no test, personal numeric data). */
export function inspectChart(feature: InspectFeature): InspectChart | null {
  if (feature.histogram) return histogramChart(feature);
  if (feature.categories && feature.categories.length > 0) return categoryChart(feature);
  return null;
}

function histogramChart(feature: InspectFeature): InspectChart {
  const h = feature.histogram!;
  const bins: InspectChart['datasets']['bins'] = [];
  const width = (h.edges.at(-1)! - h.edges[0]!) / Math.max(1, h.edges.length - 1);
  h.edges.slice(0, -1).forEach((start, i) => {
    const end = h.edges[i + 1]!;
    bins.push({ source: 'training', start, end, share: h.training[i]! });
    bins.push({ source: 'captured', start, end, share: h.captured[i]! });
  });
  // Values outside the training range: one bin's width beyond either edge.
  if (h.below > 0) bins.push({ source: 'captured', start: h.edges[0]! - width, end: h.edges[0]!, share: h.below });
  if (h.above > 0) bins.push({ source: 'captured', start: h.edges.at(-1)!, end: h.edges.at(-1)! + width, share: h.above });
  return {
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      description: `${feature.name}: captured values against the training profile`,
      width: 420,
      height: 180,
      data: { name: 'bins' },
      mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
      encoding: {
        x: { field: 'start', type: 'quantitative', title: feature.name, scale: { zero: false } },
        x2: { field: 'end' },
        y: { field: 'share', type: 'quantitative', title: 'share of values', axis: { format: '.0%' } },
        // Bars from 0: with x and x2 given, Vega-Lite would otherwise draw thin horizontal bars at y.
        y2: { datum: 0 },
        color: { field: 'source', type: 'nominal', title: null, scale: COLORS, legend: { orient: 'top' } },
        tooltip: [
          { field: 'source', type: 'nominal' },
          { field: 'start', type: 'quantitative', format: '.4~g', title: 'from' },
          { field: 'end', type: 'quantitative', format: '.4~g', title: 'to' },
          { field: 'share', type: 'quantitative', format: '.1%' }
        ]
      }
    },
    datasets: { bins }
  };
}

function categoryChart(feature: InspectFeature): InspectChart {
  const shown = feature.categories!.slice(0, CHART_CATEGORIES);
  const bins = shown.flatMap((c) => [
    { source: 'training', category: c.category, share: c.training },
    { source: 'captured', category: c.category, share: c.captured }
  ]);
  return {
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      description: `${feature.name}: captured category shares against the training profile`,
      width: 360,
      data: { name: 'bins' },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'category', type: 'nominal', title: feature.personal ? `${feature.name} (salted hashes)` : feature.name, sort: shown.map((c) => c.category) },
        yOffset: { field: 'source', sort: COLORS.domain },
        x: { field: 'share', type: 'quantitative', title: 'share of values', axis: { format: '.0%' } },
        color: { field: 'source', type: 'nominal', title: null, scale: COLORS, legend: { orient: 'top' } },
        tooltip: [
          { field: 'source', type: 'nominal' },
          { field: 'category', type: 'nominal' },
          { field: 'share', type: 'quantitative', format: '.1%' }
        ]
      },
      height: { step: 18 }
    },
    datasets: { bins }
  };
}
