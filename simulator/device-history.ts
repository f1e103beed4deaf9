import { readFile } from 'node:fs/promises';
import { adminClient } from '../src/admin/client.js';
import type { DeviceDetail } from '../src/admin/contract.js';
import { InputFileError } from '../src/input-file.js';
import { historyEntryOf, type FleetReport, type HistoryEntry } from './report.js';

/** A device's history as a run's report.json recorded it. */
export async function historyFromFile(file: string, device: string): Promise<HistoryEntry[]> {
  let report: Pick<FleetReport, 'deviceHistories'>;
  try {
    report = JSON.parse(await readFile(file, 'utf8')) as Pick<FleetReport, 'deviceHistories'>;
  } catch (error) {
    throw new InputFileError(file, '', `cannot be read as a report (${(error as Error).message})`);
  }
  const history = report.deviceHistories[device];
  if (!history) throw new InputFileError(file, 'deviceHistories', `has no device named ${device}`);
  return history;
}

/** A device's history as a running site's admin API gives it. */
export async function historyFromSite(serverUrl: string, device: string): Promise<HistoryEntry[]> {
  const { data } = await adminClient(serverUrl).get<DeviceDetail>(`/devices/${encodeURIComponent(device)}`);
  return data.history.map(historyEntryOf);
}
