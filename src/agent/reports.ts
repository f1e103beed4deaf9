/**
 * Which reports a device owes its site, and what they say: each report the poll response enabled, once its
 * interval has passed since it was last sent (reference §10).
 */
import type { DeviceSettings, ReportSettings } from '../domain/client-settings.js';
import { fileReport } from '../protocol/documents/file-report.js';
import { machineInventory } from '../protocol/documents/machine-inventory.js';
import type { ReportType } from '../protocol/wire.js';
import type { Clock } from '../time/clock.js';
import type { DeviceProfile } from './device-profile.js';
import { deviceFiles, machineInventoryOf, selectFiles, softwareInventory } from './inventory.js';
import type { OutgoingReport } from './site-line.js';

/** What an installed package put on the device: its files under its LocalDestination. */
export interface InstalledPackage {
  destination: string;
  files: readonly string[];
}

export interface ReportingDevice {
  profile: DeviceProfile;
  settings: DeviceSettings;
  installed: readonly InstalledPackage[];
  reportsSentAt: Readonly<Partial<Record<ReportType, number>>>;
  deps: { site: { clock: Clock } };
}

const SETTINGS: Record<ReportType, (settings: DeviceSettings) => ReportSettings> = {
  MachineInventory: (s) => s.machineInventory,
  SoftwareInventory: (s) => s.softwareInventory,
  FileCollection: (s) => s.fileCollection,
};

/** The reports due now, in the order they go out: machine inventory, software inventory, then collected files. */
export function dueReports(device: ReportingDevice): OutgoingReport[] {
  const now = device.deps.site.clock.now();
  const due = (type: ReportType) => {
    const settings = SETTINGS[type](device.settings);
    const sentAt = device.reportsSentAt[type];
    return settings.enabled && (sentAt === undefined || now - sentAt >= settings.intervalMs);
  };
  const reports: OutgoingReport[] = [];
  if (due('MachineInventory')) reports.push({ type: 'MachineInventory', body: machineInventory.encode(machineInventoryOf(device.profile)) });
  if (due('SoftwareInventory')) {
    const files = selectFiles(deviceFiles(device.installed), device.settings.softwareInventory.fileFilters);
    reports.push({ type: 'SoftwareInventory', body: fileReport.encode(softwareInventory(files)) });
  }
  if (due('FileCollection')) {
    // One POST per file; the simulated device's files hold a line naming themselves.
    for (const file of selectFiles(deviceFiles(device.installed), device.settings.fileCollection.fileFilters)) {
      reports.push({ type: 'FileCollection', body: `${file.path}\r\n`, fileName: file.path });
    }
  }
  return reports;
}
