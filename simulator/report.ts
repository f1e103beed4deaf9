import axios from 'axios';
import Table from 'cli-table3';
import type { Advertisement } from '../src/domain/advertisement.js';
import type { ComplianceState } from '../src/domain/configuration-item.js';
import { describeMessage, STATUS, type ComplianceResult, type StatusMessage } from '../src/domain/status-message.js';
import type { AdvertisementStatus } from '../src/server/status-store.js';
import type { LatencySummary } from './latency.js';

/** How fast an advertisement reached its targeted devices, from the moment it was available. */
export interface Rollout {
  /** Seconds until 50%, 90% and 100% of targeted devices finished (a program succeeded, or items evaluated); null if never. */
  t50Seconds: number | null;
  t90Seconds: number | null;
  t100Seconds: number | null;
  /** Devices finished so far, at each moment one more finished. */
  curve: { seconds: number; finished: number }[];
}

/** One advertisement as the ConfigMgr console's advertisement status node would summarise it. */
export interface AdvertisementReport {
  id: string;
  name: string;
  packageId: string;
  programName: string | null;
  targeted: number;
  received: number;
  /** Devices whose last status is a success. */
  succeeded: number;
  failed: number;
  /** Rejected (requirements not met) or expired. */
  notApplicable: number;
  /** Downloading, running, or waiting on a restart. */
  inProgress: number;
  messages: { messageId: number; name: string; count: number }[];
  compliance: Record<string, Record<ComplianceState, number>>;
  rollout: Rollout;
}

export interface FleetReport {
  /** The scenario replayed, if any. */
  scenario: { name: string; description: string } | null;
  seed: number;
  /** replay: simulated time, as fast as the site answers; scaled: simulated time at a fixed speed; real: wall clock. */
  clock: 'replay' | 'scaled' | 'real';
  devices: number;
  platforms: Record<string, number>;
  /** The run's span on its clock. */
  start: string;
  end: string;
  wallSeconds: number;
  /** Every device finished at least one poll cycle before the time limit. */
  roundComplete: boolean;
  devicesCycled: number;
  deviceStates: Record<string, number>;
  advertisements: AdvertisementReport[];
  /** Request latency per endpoint, wall-clock. */
  latency: Record<string, LatencySummary>;
}

/** Time to 50/90/100% of `targeted`, from each device's first finishing time. */
export function rolloutOf(finishedAt: Map<string, number>, targeted: number, since: number): Rollout {
  const times = [...finishedAt.values()].map((t) => Math.max(0, (t - since) / 1000)).sort((a, b) => a - b);
  const reach = (share: number) => {
    const needed = Math.ceil(targeted * share);
    return targeted > 0 && times.length >= needed ? times[needed - 1]! : null;
  };
  return {
    t50Seconds: reach(0.5),
    t90Seconds: reach(0.9),
    t100Seconds: reach(1),
    curve: times.map((seconds, index) => ({ seconds, finished: index + 1 })),
  };
}

/** When each device finished an advertisement: its first program success, or its first compliance result. */
function finishingTimes(messages: StatusMessage[], compliance: ComplianceResult[]): Map<string, number> {
  const finished = new Map<string, number>();
  const note = (deviceId: string, time: number) => finished.set(deviceId, Math.min(time, finished.get(deviceId) ?? Infinity));
  for (const m of messages) if (m.messageId === STATUS.programSucceeded.id) note(m.deviceId, m.time);
  for (const r of compliance) note(r.deviceId, r.time);
  return finished;
}

/**
 * Reads every advertisement's status through the admin API, as an operator's console would. Rollout times count
 * from when the advertisement became available (created, or its available time, whichever is later).
 */
export async function collectAdvertisementReports(serverUrl: string): Promise<AdvertisementReport[]> {
  const admin = axios.create({ baseURL: `${serverUrl}/admin` });
  const { data: advertisements } = await admin.get<Advertisement[]>('/advertisements');
  return Promise.all(
    advertisements.map(async (ad) => {
      const [{ data: status }, { data: messages }, { data: compliance }] = await Promise.all([
        admin.get<AdvertisementStatus>(`/advertisements/${ad.id}/status`),
        admin.get<StatusMessage[]>('/status-messages', { params: { advertisementId: ad.id } }),
        admin.get<ComplianceResult[]>('/compliance', { params: { advertisementId: ad.id } }),
      ]);
      const s = status.byState;
      return {
        id: ad.id,
        name: ad.name,
        packageId: ad.packageId,
        programName: ad.programName ?? null,
        targeted: status.targeted,
        received: status.received,
        succeeded: s.succeeded,
        failed: s.failed,
        notApplicable: s.rejected + s.expired,
        inProgress: s.downloading + s.downloaded + s.running + s.rebootPending,
        messages: Object.entries(status.byMessageId).map(([id, count]) => ({
          messageId: Number(id),
          name: describeMessage(Number(id))?.name ?? 'unknown message',
          count,
        })),
        compliance: status.compliance,
        rollout: rolloutOf(finishingTimes(messages, compliance), status.targeted, status.availableSince),
      };
    }),
  );
}

/** Plain, compact tables: no colour codes in files and pipes, no rule between every row. */
const table = (head: string[]) => new Table({ head, style: { head: [], border: [], compact: true } });

/** The report as a person reads it in a terminal. */
export function renderReport(report: FleetReport): string {
  const lines: string[] = [];
  const platforms = Object.entries(report.platforms)
    .map(([platform, count]) => `${platform} ${count}`)
    .join(', ');
  if (report.scenario) lines.push(`scenario: ${report.scenario.name}: ${report.scenario.description}`);
  lines.push(`mlc-sim: ${report.devices} handhelds (${platforms}), seed ${report.seed}`);
  lines.push(
    `${report.clock === 'real' ? 'real time' : 'simulated'} ${report.start} → ${report.end}, ${report.wallSeconds.toFixed(1)} s wall; ` +
      (report.roundComplete ? 'every device completed a poll cycle' : `only ${report.devicesCycled} of ${report.devices} devices completed a poll cycle`),
  );

  const ads = table(['Advertisement', 'Program', 'Targeted', 'Received', 'Succeeded', 'Failed', 'Not applicable', 'In progress', 'To 50% / 90% / 100%']);
  for (const ad of report.advertisements) {
    // A configuration package runs no program: its outcome is the compliance table below.
    const outcome = ad.programName === null ? ['-', '-', '-', '-'] : [ad.succeeded, ad.failed, ad.notApplicable, ad.inProgress];
    const { t50Seconds, t90Seconds, t100Seconds } = ad.rollout;
    ads.push([`${ad.id} ${ad.name}`, ad.programName ?? '(configuration items)', ad.targeted, ad.received, ...outcome, [t50Seconds, t90Seconds, t100Seconds].map(duration).join(' / ')]);
  }
  lines.push('', 'Advertisement status', ads.toString());

  const messages = table(['Advertisement', 'Message', 'Description', 'Count']);
  for (const ad of report.advertisements) for (const m of ad.messages) messages.push([ad.id, m.messageId, m.name, m.count]);
  lines.push('', 'Status messages', messages.toString());

  const compliance = table(['Advertisement', 'Configuration item', 'Compliant', 'Remediated', 'Non-compliant', 'Not applicable']);
  for (const ad of report.advertisements) {
    for (const [item, c] of Object.entries(ad.compliance)) compliance.push([ad.id, item, c.compliant, c.remediated, c.nonCompliant, c.notApplicable]);
  }
  if (compliance.length > 0) lines.push('', 'Configuration item compliance', compliance.toString());

  const latency = table(['Endpoint', 'Requests', 'Errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms']);
  for (const [endpoint, l] of Object.entries(report.latency)) latency.push([endpoint, l.count, l.errors, l.p50Ms, l.p95Ms, l.p99Ms, l.maxMs]);
  lines.push('', 'Request latency (wall clock)', latency.toString());

  const states = Object.entries(report.deviceStates)
    .map(([state, count]) => `${state} ${count}`)
    .join(', ');
  lines.push('', `Devices now: ${states}`);
  return lines.join('\n');
}

/** Seconds as a short duration: 45s, 12m05s, 3h20m; "never" for null. */
export function duration(seconds: number | null): string {
  if (seconds === null) return 'never';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}
