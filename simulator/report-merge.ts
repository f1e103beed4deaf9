import type { PlatformStorage } from '../src/admin/contract.js';
import type { ComplianceState } from '../src/domain/configuration-item.js';
import type { LatencySummary } from './latency.js';
import { ADVERTISEMENT_STATES } from '../src/domain/status-message.js';
import { mergeOutcomeCurves } from './report-timeline.js';
import { outcomeOf, rolloutOf, type AdvertisementReport, type FleetReport } from './report.js';

/** Adds counts key by key. */
function sumCounts<K extends string>(parts: Record<K, number>[]): Record<K, number> {
  const sum: Partial<Record<K, number>> = {};
  for (const part of parts) for (const [key, count] of Object.entries(part) as [K, number][]) sum[key] = (sum[key] ?? 0) + count;
  // Every key of every part has been added, so every key of the sum has a count.
  return sum as Record<K, number>;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** One advertisement's status over every slice of the fleet: counts add up, rollout times are of the union. */
function mergeAdvertisement(parts: AdvertisementReport[]): AdvertisementReport {
  const [first] = parts;
  if (first === undefined) throw new Error('no advertisement reports to merge');
  const targeted = sum(parts.map((p) => p.targeted));
  const states = sumCounts(parts.map((p) => p.states));
  const outcome = outcomeOf(states);
  const canFinish = targeted - outcome.notApplicable;
  const counts = sumCounts(parts.flatMap((p) => p.messages.map((m) => ({ [m.messageId]: m.count }))));
  const items = [...new Set(parts.flatMap((p) => Object.keys(p.compliance)))];
  return {
    ...first,
    targeted,
    received: sum(parts.map((p) => p.received)),
    states,
    devicesByState: Object.fromEntries(
      // By name: the slices' order (which finished first) must not show through.
      ADVERTISEMENT_STATES.map((state) => [state, parts.flatMap((p) => p.devicesByState[state]).sort()]),
    ) as AdvertisementReport['devicesByState'],
    ...outcome,
    canFinish,
    messages: Object.entries(counts).map(([id, count]) => ({
      messageId: Number(id),
      name: parts.flatMap((p) => p.messages).find((m) => m.messageId === Number(id))?.name ?? '',
      count,
    })),
    compliance: Object.fromEntries(items.map((item) => [item, sumCounts<ComplianceState>(parts.flatMap((p) => p.compliance[item] ?? []))])),
    rollout: rolloutOf(
      parts.flatMap((p) => p.rollout.curve.map((point) => point.seconds)),
      canFinish,
    ),
    outcomes: mergeOutcomeCurves(parts.map((p) => p.outcomes)),
  };
}

/**
 * One report from the reports of the fleet's slices (`--workers`): device counts and status add up, advertisement
 * status adds up across the slices' sites, and latency percentiles come from the merged histograms.
 */
export function mergeReports(parts: FleetReport[], latency: Record<string, LatencySummary>, wallSeconds: number): FleetReport {
  const [first] = parts;
  if (first === undefined) throw new Error('no reports to merge');
  const advertisementIds = [...new Set(parts.flatMap((p) => p.advertisements.map((a) => a.id)))];
  const stored = parts.map((p) => p.status.stored);
  return {
    ...first,
    devices: sum(parts.map((p) => p.devices)),
    platforms: sumCounts(parts.map((p) => p.platforms)),
    // Shards of a live fleet never start at the same millisecond: the run spans the first start to the last end.
    start: parts.map((p) => p.start).reduce((a, b) => (a < b ? a : b)),
    end: parts.map((p) => p.end).reduce((a, b) => (a > b ? a : b)),
    wallSeconds,
    roundComplete: parts.every((p) => p.roundComplete),
    devicesCycled: sum(parts.map((p) => p.devicesCycled)),
    deviceStates: sumCounts(parts.map((p) => p.deviceStates)),
    advertisements: advertisementIds.map((id) => mergeAdvertisement(parts.flatMap((p) => p.advertisements.filter((a) => a.id === id)))),
    // Each slice's devices are its own: their histories join without overlap, by name as one site lists them.
    deviceHistories: Object.fromEntries(parts.flatMap((p) => Object.entries(p.deviceHistories)).sort(([a], [b]) => a.localeCompare(b))),
    storage: mergeStorage(parts.flatMap((p) => p.storage)),
    status: {
      generated: sum(parts.map((p) => p.status.generated)),
      pending: sum(parts.map((p) => p.status.pending)),
      stored: stored.includes(null) ? null : sum(stored as number[]),
    },
    latency,
  };
}

/** Free storage per platform across the slices' sites: devices and sizes add up, the least free is the least. */
function mergeStorage(all: PlatformStorage[]): PlatformStorage[] {
  const merged = new Map<string, PlatformStorage>();
  for (const part of all) {
    const into = merged.get(part.platform) ?? { platform: part.platform, devices: 0, volumes: {} };
    into.devices += part.devices;
    for (const [name, v] of Object.entries(part.volumes)) {
      const had = into.volumes[name];
      into.volumes[name] = had
        ? { devices: had.devices + v.devices, totalKB: had.totalKB + v.totalKB, freeKB: had.freeKB + v.freeKB, minFreeKB: Math.min(had.minFreeKB, v.minFreeKB) }
        : { ...v };
    }
    merged.set(part.platform, into);
  }
  return [...merged.values()].sort((a, b) => (a.platform < b.platform ? -1 : 1));
}
