/**
 * The validation report's charts: the confusion matrix as a heat map, and — for binary
 * classifiers — the ROC curve and the calibration (reliability) diagram, as Vega-Lite specs
 * built from the report's `details`. The specs hold their data inline (nothing is fetched),
 * so they draw the same in a shared notebook.
 */

import type { IValidationReport } from './payloads.js';

/** A Vega-Lite spec (kept structural: vega-lite's types load with the lazy bundle). */
export type VegaLiteSpec = Record<string, unknown>;

const SIZE = 170;

/** The charts this report has data for, in reading order; empty when it has none. */
export function validationCharts(report: IValidationReport): VegaLiteSpec[] {
  const charts: VegaLiteSpec[] = [];
  const confusion = confusionChart(report);
  if (confusion) {
    charts.push(confusion);
  }
  const roc = rocChart(report);
  if (roc) {
    charts.push(roc);
  }
  const calibration = calibrationChart(report);
  if (calibration) {
    charts.push(calibration);
  }
  return charts;
}

/** The charts side by side (wrapping at the notebook's width), or null without any. */
export function validationChartsSpec(report: IValidationReport): VegaLiteSpec | null {
  const charts = validationCharts(report);
  if (charts.length === 0) {
    return null;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: `Charts of the validation of ${report.model} version ${report.version}`,
    hconcat: charts,
    spacing: 24
  };
}

function confusionChart(report: IValidationReport): VegaLiteSpec | null {
  const confusion = report.details?.confusion_matrix;
  if (!confusion?.labels.length) {
    return null;
  }
  const values = confusion.labels.flatMap((truth, i) => {
    const total = confusion.matrix[i].reduce((a, b) => a + b, 0);
    return confusion.labels.map((predicted, j) => ({
      truth,
      predicted,
      count: confusion.matrix[i][j],
      share: total > 0 ? confusion.matrix[i][j] / total : 0
    }));
  });
  const axis = { sort: confusion.labels };
  return {
    title: 'Confusion matrix',
    width: SIZE,
    height: SIZE,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'nominal', title: 'predicted', ...axis, axis: { labelAngle: 0 } },
      y: { field: 'truth', type: 'nominal', title: 'true class', ...axis }
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: { field: 'share', type: 'quantitative', title: 'share of class', scale: { scheme: 'blues', domain: [0, 1] }, legend: null },
          tooltip: [
            { field: 'truth', title: 'true class' },
            { field: 'predicted' },
            { field: 'count' },
            { field: 'share', format: '.1%', title: 'share of the true class' }
          ]
        }
      },
      {
        mark: { type: 'text', fontWeight: 'bold' },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' }
        }
      }
    ]
  };
}

function rocChart(report: IValidationReport): VegaLiteSpec | null {
  const roc = report.details?.roc;
  if (!roc || roc.fpr.length < 2 || roc.fpr.length !== roc.tpr.length) {
    return null;
  }
  const auc = report.metrics.roc_auc;
  return {
    title: typeof auc === 'number' ? `ROC curve (AUC ${auc.toFixed(3)})` : 'ROC curve',
    width: SIZE,
    height: SIZE,
    layer: [
      diagonal('fpr', 'tpr'),
      {
        data: { values: roc.fpr.map((fpr, i) => ({ fpr, tpr: roc.tpr[i] })) },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'true positive rate', scale: { domain: [0, 1] } },
          tooltip: [
            { field: 'fpr', format: '.3f', title: 'false positive rate' },
            { field: 'tpr', format: '.3f', title: 'true positive rate' }
          ]
        }
      }
    ]
  };
}

function calibrationChart(report: IValidationReport): VegaLiteSpec | null {
  const bins = report.details?.calibration;
  if (!bins || bins.length === 0) {
    return null;
  }
  const x = { field: 'predicted', type: 'quantitative', title: 'mean predicted probability', scale: { domain: [0, 1] } };
  const y = { field: 'observed', type: 'quantitative', title: 'observed share positive', scale: { domain: [0, 1] } };
  return {
    title: 'Calibration',
    width: SIZE,
    height: SIZE,
    layer: [
      diagonal('predicted', 'observed'),
      {
        data: { values: bins },
        layer: [
          { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y } },
          {
            mark: { type: 'point', filled: true },
            encoding: {
              x,
              y,
              size: { field: 'count', type: 'quantitative', title: 'rows', legend: null, scale: { range: [20, 160] } },
              tooltip: [
                { field: 'predicted', format: '.3f', title: 'mean predicted' },
                { field: 'observed', format: '.3f', title: 'observed' },
                { field: 'count', title: 'rows' }
              ]
            }
          }
        ]
      }
    ]
  };
}

/** The y = x line: chance for ROC, perfect calibration for the reliability diagram. */
function diagonal(x: string, y: string): VegaLiteSpec {
  return {
    data: {
      values: [
        { [x]: 0, [y]: 0 },
        { [x]: 1, [y]: 1 }
      ]
    },
    mark: { type: 'line', strokeDash: [4, 4], opacity: 0.5, color: 'gray' },
    encoding: { x: { field: x, type: 'quantitative' }, y: { field: y, type: 'quantitative' } }
  };
}
