import { InvalidArgumentError } from 'commander';
import type { LatencySummary } from './latency.js';
import type { AdvertisementReport, FleetReport } from './report.js';

/** Exit code of a run whose report is complete but fails one of its `--threshold`s. */
export const THRESHOLD_FAILED_EXIT_CODE = 3;

const LATENCY_METRICS = { p50: 'p50Ms', p95: 'p95Ms', p99: 'p99Ms', max: 'maxMs' } as const satisfies Record<string, keyof LatencySummary>;
const REQUEST_METRICS = ['count', 'errors'] as const;
const ADVERTISEMENT_METRICS = ['succeeded', 'failed', 'notApplicable', 'inProgress', 'noStatus', 'received'] as const;
const OPERATORS = {
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
} as const;

type LatencyMetric = keyof typeof LATENCY_METRICS;
type RequestMetric = (typeof REQUEST_METRICS)[number];
type AdvertisementMetric = (typeof ADVERTISEMENT_METRICS)[number];
type Operator = keyof typeof OPERATORS;

/**
 * A pass/fail criterion on a report's figures, as k6 has them: `p99(Poll)<200ms` (latency of an endpoint, in ms or
 * s), `errors(Content)<=1%` (requests of an endpoint: a count, or a share of its requests), `succeeded(MLC20001)>=95%`
 * (devices of an advertisement by outcome: a count, or a share of those targeted).
 */
export interface Threshold {
  expression: string;
  metric: LatencyMetric | RequestMetric | AdvertisementMetric;
  /** The endpoint or advertisement id in the parentheses. */
  subject: string;
  operator: Operator;
  /** Milliseconds for a latency, a fraction of 1 for a percentage, else a count. */
  value: number;
  percent: boolean;
}

const GRAMMAR = /^\s*([A-Za-z0-9]+)\(\s*([^()\s]+)\s*\)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?\s*$/;
const METRICS = [...Object.keys(LATENCY_METRICS), ...REQUEST_METRICS, ...ADVERTISEMENT_METRICS];

const isLatency = (metric: string): metric is LatencyMetric => metric in LATENCY_METRICS;
const isRequest = (metric: string): metric is RequestMetric => (REQUEST_METRICS as readonly string[]).includes(metric);
const isAdvertisement = (metric: string): metric is AdvertisementMetric => (ADVERTISEMENT_METRICS as readonly string[]).includes(metric);

/** Parses one `--threshold`, or says which part of it is wrong. */
export function parseThreshold(expression: string): Threshold {
  const wrong = (reason: string) => new InvalidArgumentError(`--threshold '${expression}': ${reason}`);
  const match = GRAMMAR.exec(expression);
  if (!match) throw wrong("must be metric(subject) operator value, e.g. 'p99(Poll)<200ms' or 'succeeded(MLC20001)>=95%'");
  const [, metric = '', subject = '', operator = '<', number = '', unit] = match;
  const base = { expression, subject, operator: operator as Operator };
  if (isLatency(metric)) {
    if (unit !== 'ms' && unit !== 's') throw wrong(`a latency needs a unit, ms or s (e.g. ${metric}(${subject})<200ms)`);
    return { ...base, metric, value: Number(number) * (unit === 's' ? 1000 : 1), percent: false };
  }
  if (isRequest(metric) || isAdvertisement(metric)) {
    if (unit === 'ms' || unit === 's') throw wrong(`${metric} is a count or a percentage, not a time`);
    if (metric === 'count' && unit === '%') throw wrong('count is a number of requests, not a percentage');
    return { ...base, metric, value: unit === '%' ? Number(number) / 100 : Number(number), percent: unit === '%' };
  }
  throw wrong(`unknown metric "${metric}" (one of ${METRICS.join(', ')})`);
}

/** Commander's collector for a repeatable `--threshold`. */
export function collectThreshold(expression: string, earlier: Threshold[] = []): Threshold[] {
  return [...earlier, parseThreshold(expression)];
}

export interface ThresholdResult {
  expression: string;
  passed: boolean;
  /** The figure judged, as the expression states it (e.g. "184.2ms", "96.5%"), or why there is none. */
  actual: string;
}

const formatted = (value: number, threshold: Threshold) =>
  isLatency(threshold.metric) ? `${value}ms` : threshold.percent ? `${Math.round(value * 10_000) / 100}%` : String(value);

/** The figure a threshold judges in a report, or why the report has none. */
function figureOf(threshold: Threshold, report: FleetReport): number | string {
  const { metric, subject } = threshold;
  if (isAdvertisement(metric)) {
    const ad: AdvertisementReport | undefined = report.advertisements.find((a) => a.id === subject);
    if (!ad) return `no advertisement ${subject} in the report`;
    if (!threshold.percent) return ad[metric];
    return ad.targeted === 0 ? `advertisement ${subject} targeted no device` : ad[metric] / ad.targeted;
  }
  const latency = report.latency[subject];
  if (!latency) return `no ${subject} requests in the report`;
  if (isLatency(metric)) return latency[LATENCY_METRICS[metric]];
  if (metric === 'count') return latency.count;
  return threshold.percent ? latency.errors / latency.count : latency.errors;
}

/** Judges each threshold on the report's figures (a merged report's, for shards): a figure the report lacks fails. */
export function judgeThresholds(thresholds: readonly Threshold[], report: FleetReport): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const figure = figureOf(threshold, report);
    if (typeof figure === 'string') return { expression: threshold.expression, passed: false, actual: figure };
    return { expression: threshold.expression, passed: OPERATORS[threshold.operator](figure, threshold.value), actual: formatted(figure, threshold) };
  });
}

export function renderThresholds(results: readonly ThresholdResult[]): string {
  return ['Thresholds', ...results.map((r) => `  ${r.passed ? 'pass' : 'FAIL'}  ${r.expression}  (${r.actual})`)].join('\n');
}
