/**
 * Which reports a device owes its site, and what they say: each report the poll response enabled, once its
 * interval has passed since it was last sent (reference §10).
 */
import type { DeviceSettings, ReportSettings } from '../domain/client-settings.js';
import { fileReport } from '../protocol/documents/file-report.js';
import { machineInventory } from '../protocol/documents/machine-inventory.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import type { ReportType } from '../protocol/wire.js';
import type { Clock } from '../time/clock.js';
import { openDevice, type DeviceState } from '../device/device-state.js';
import type { DeviceProfile } from './device-profile.js';
import { deviceEntries, machineInventoryOf, selectFiles, softwareInventory } from './inventory.js';
import type { OutgoingReport } from './site-line.js';

export interface ReportingDevice {
  profile: DeviceProfile;
  /** Who the device says it is when it polls: machine inventory reports the same address. */
  identification: Pick<Identification, 'networkAdapters'>;
  settings: DeviceSettings;
  state: DeviceState;
  reportsSentAt: Readonly<Partial<Record<ReportType, number>>>;
  deps: { site: { clock: Clock } };
}

const SETTINGS: Record<ReportType, (settings: DeviceSettings) => ReportSettings> = {
  MachineInventory: (s) => s.machineInventory,
  SoftwareInventory: (s) => s.softwareInventory,
  FileCollection: (s) => s.fileCollection,
};

/** Whether each report is due now: its setting enabled, and its interval passed since it was last sent. */
function dueCheck(device: ReportingDevice): (type: ReportType) => boolean {
  const now = device.deps.site.clock.now();
  return (type) => {
    const settings = SETTINGS[type](device.settings);
    const sentAt = device.reportsSentAt[type];
    return settings.enabled && (sentAt === undefined || now - sentAt >= settings.intervalMs);
  };
}

/**
 * Whether any report is due now (whether `dueReports` would send one), without building them: the statechart asks
 * this at every poll answer and round's end, and builds the reports once, when it sends them.
 */
export function reportsAreDue(device: ReportingDevice): boolean {
  const due = dueCheck(device);
  if (due('MachineInventory') || due('SoftwareInventory')) return true;
  // Collected files are reports only when the filters select some.
  return due('FileCollection') && selectFiles(deviceEntries(device.profile, device.state), device.settings.fileCollection.fileFilters).length > 0;
}

/** The reports due now, in the order they go out: machine inventory, software inventory, then collected files. */
export function dueReports(device: ReportingDevice): OutgoingReport[] {
  const due = dueCheck(device);
  const reports: OutgoingReport[] = [];
  const { files } = openDevice(device.profile, device.state, 0);
  if (due('MachineInventory')) {
    const ipAddress = device.identification.networkAdapters[0]?.ipAddress ?? '';
    reports.push({ type: 'MachineInventory', body: machineInventory.encode(machineInventoryOf(device.profile, ipAddress, files)) });
  }
  const entries = due('SoftwareInventory') || due('FileCollection') ? files.entries() : [];
  if (due('SoftwareInventory')) {
    const files = selectFiles(entries, device.settings.softwareInventory.fileFilters);
    reports.push({ type: 'SoftwareInventory', body: fileReport.encode(softwareInventory(files, entries)) });
  }
  if (due('FileCollection')) {
    // One POST per file. The device keeps its files' sizes and attributes, not their bytes: each holds a line naming it.
    for (const file of selectFiles(entries, device.settings.fileCollection.fileFilters)) {
      reports.push({ type: 'FileCollection', body: `${file.path}\r\n`, fileName: file.path });
    }
  }
  return reports;
}
