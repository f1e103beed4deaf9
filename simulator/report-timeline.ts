import { describeMessage, IN_PROGRESS_STATES, NOT_APPLICABLE_STATES, type MessageState, type StatusMessage } from '../src/domain/status-message.js';
import type { TimelineAction } from './scenario.js';

/** The report's outcome groups, with Retrying on its own: it is how a failed download comes back. */
export const OUTCOME_GROUPS = ['succeeded', 'failed', 'retrying', 'inProgress', 'notApplicable'] as const;
export type OutcomeGroup = (typeof OUTCOME_GROUPS)[number];

/** Devices of an advertisement in each outcome group from `seconds` after it became available. */
export type OutcomePoint = { seconds: number } & Record<OutcomeGroup, number>;

function groupOf(state: MessageState): OutcomeGroup {
  if (state === 'retrying') return 'retrying';
  if (state === 'succeeded' || state === 'failed') return state;
  if (NOT_APPLICABLE_STATES.includes(state)) return 'notApplicable';
  if (IN_PROGRESS_STATES.includes(state)) return 'inProgress';
  throw new Error(`no outcome group for state ${state}`);
}

const emptyPoint = (seconds: number): OutcomePoint => ({ seconds, succeeded: 0, failed: 0, retrying: 0, inProgress: 0, notApplicable: 0 });

/**
 * Devices per outcome over time, from an advertisement's messages in the site's order (time, then arrival): each
 * device is where its latest message put it, as the site's status summary counts. One point per second that changed.
 */
export function outcomeCurve(messages: readonly StatusMessage[], availableSince: number): OutcomePoint[] {
  const where = new Map<string, OutcomeGroup>();
  const points: OutcomePoint[] = [];
  let current = emptyPoint(0);
  for (const m of messages) {
    const state = describeMessage(m.messageId)?.state;
    if (!state) continue;
    const seconds = Math.max(0, Math.floor((m.time - availableSince) / 1000));
    if (seconds !== current.seconds || points.length === 0) points.push((current = { ...current, seconds }));
    const before = where.get(m.deviceId);
    const after = groupOf(state);
    if (before !== undefined) current[before]--;
    current[after]++;
    where.set(m.deviceId, after);
  }
  return points;
}

/** The outcome curves of the fleet's slices (`--workers`), added up at every moment any of them changed. */
export function mergeOutcomeCurves(parts: readonly (readonly OutcomePoint[])[]): OutcomePoint[] {
  const seconds = [...new Set(parts.flatMap((curve) => curve.map((p) => p.seconds)))].sort((a, b) => a - b);
  const index = parts.map(() => -1);
  return seconds.map((at) => {
    const sum = emptyPoint(at);
    parts.forEach((curve, part) => {
      let i = index[part] ?? -1;
      while (i + 1 < curve.length && (curve[i + 1]?.seconds ?? Infinity) <= at) i++;
      index[part] = i;
      const point = curve[i];
      if (point) for (const group of OUTCOME_GROUPS) sum[group] += point[group];
    });
    return sum;
  });
}

/** A stretch of the run when the site was impaired: drawn on the report's and the dashboard's time axes. */
export interface RunWindow {
  label: string;
  /** Seconds from the run's start. */
  fromSeconds: number;
  /** Null: until the end of the run. */
  untilSeconds: number | null;
}

/** The outages and faults a scenario's timeline holds. */
export function scenarioWindows(timeline: readonly TimelineAction[]): RunWindow[] {
  return timeline.flatMap((action): RunWindow[] => {
    const fromSeconds = action.at / 1000;
    switch (action.action) {
      case 'distributionPointDown':
        return [{ label: `distribution point down (${action.status})`, fromSeconds, untilSeconds: action.until / 1000 }];
      case 'siteDown':
        return [{ label: 'site down', fromSeconds, untilSeconds: action.until / 1000 }];
      case 'fault':
        return [
          {
            label: `${action.fault.kind} on ${action.fault.endpoint}`,
            fromSeconds,
            untilSeconds: action.until === undefined ? null : action.until / 1000,
          },
        ];
      default:
        return [];
    }
  });
}
