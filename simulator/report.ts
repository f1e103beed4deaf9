import axios from 'axios';
import Table from 'cli-table3';
import type { Advertisement } from '../src/domain/advertisement.js';
import type { ComplianceState } from '../src/domain/configuration-item.js';
import { describeMessage } from '../src/domain/status-message.js';
import type { AdvertisementStatus } from '../src/server/status-store.js';

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
}

export interface FleetReport {
  seed: number;
  devices: number;
  platforms: Record<string, number>;
  simulatedStart: string;
  simulatedEnd: string;
  wallSeconds: number;
  /** Every device finished at least one poll cycle before the time limit. */
  roundComplete: boolean;
  devicesCycled: number;
  deviceStates: Record<string, number>;
  advertisements: AdvertisementReport[];
}

/** Reads every advertisement's status through the admin API, as an operator's console would. */
export async function collectAdvertisementReports(serverUrl: string): Promise<AdvertisementReport[]> {
  const admin = axios.create({ baseURL: `${serverUrl}/admin` });
  const { data: advertisements } = await admin.get<Advertisement[]>('/advertisements');
  return Promise.all(
    advertisements.map(async (ad) => {
      const { data: status } = await admin.get<AdvertisementStatus>(`/advertisements/${ad.id}/status`);
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
  lines.push(`mlc-sim: ${report.devices} handhelds (${platforms}), seed ${report.seed}`);
  lines.push(
    `simulated ${report.simulatedStart} → ${report.simulatedEnd}, ${report.wallSeconds.toFixed(1)} s wall; ` +
      (report.roundComplete ? 'every device completed a poll cycle' : `only ${report.devicesCycled} of ${report.devices} devices completed a poll cycle`),
  );

  const ads = table(['Advertisement', 'Program', 'Targeted', 'Received', 'Succeeded', 'Failed', 'Not applicable', 'In progress']);
  for (const ad of report.advertisements) {
    // A configuration package runs no program: its outcome is the compliance table below.
    const outcome = ad.programName === null ? ['-', '-', '-', '-'] : [ad.succeeded, ad.failed, ad.notApplicable, ad.inProgress];
    ads.push([`${ad.id} ${ad.name}`, ad.programName ?? '(configuration items)', ad.targeted, ad.received, ...outcome]);
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

  const states = Object.entries(report.deviceStates)
    .map(([state, count]) => `${state} ${count}`)
    .join(', ');
  lines.push('', `Devices now: ${states}`);
  return lines.join('\n');
}
