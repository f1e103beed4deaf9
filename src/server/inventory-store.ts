import type { FileOwnership, InventoryHistory, PlatformStorage } from '../admin/contract.js';
import { fileReport, reportedFiles } from '../protocol/documents/file-report.js';
import { machineInventory, type InventoryItem } from '../protocol/documents/machine-inventory.js';

export interface SoftwareFile {
  path: string;
  size: number;
  version?: string;
}

/** The latest inventory a device reported, as the site keeps it. */
export interface DeviceInventory {
  machine: { time: number; items: InventoryItem[] } | null;
  /** Full paths of the files its last software inventory listed. */
  software: { time: number; files: SoftwareFile[] } | null;
  /** Files it uploaded (file collection): path, size and when, the latest upload of each path. */
  collectedFiles: Record<string, { size: number; time: number }>;
}

/** How many earlier reports of each kind the site keeps per device, besides the latest. */
export const HISTORY_DEPTH = 10;

/** `3.2` matches `3.2`, `3.2.0.0` and `3.2.1`, not `3.20`: a version's leading parts. */
export function versionMatches(version: string | undefined, wanted: string): boolean {
  if (version === undefined) return false;
  const have = version.split('.');
  return wanted.split('.').every((part, index) => have[index] === part);
}

const fileName = (path: string) => path.slice(path.lastIndexOf('\\') + 1);

/** A machine inventory's items, as the site reads them: the report decoded, or a ProtocolError saying why not. */
const itemsOf = (document: string): InventoryItem[] => machineInventory.decode(document).items;

/** A software inventory's files, with their full paths: the report decoded, or a ProtocolError saying why not. */
function filesOf(document: string): SoftwareFile[] {
  return reportedFiles(fileReport.decode(document)).map(({ path, file }) => ({ path, size: file.size, ...(file.version && { version: file.version }) }));
}

/** One volume of a device's storage (Device_FileSystem), in KB. */
interface Volume {
  name: string;
  size: number;
  used: number;
}

/** The volumes a machine inventory reports with a name and numeric sizes (the others do not count). */
function volumesOf(items: InventoryItem[]): Volume[] {
  const volumes: Volume[] = [];
  for (const item of items) {
    if (item.name !== 'Device_FileSystem') continue;
    const property = (name: string) => item.properties.find(([n]) => n === name)?.[1];
    const name = property('Name');
    const size = Number(property('Size'));
    const used = Number(property('UsedSpace'));
    if (name !== undefined && Number.isFinite(size) && Number.isFinite(used)) volumes.push({ name, size, used });
  }
  return volumes;
}

/**
 * A report as the site keeps it: the document the device sent, decoded again when an administrator asks for it. A
 * decoded inventory costs several times its text in memory (every property an array of two sliced strings, each
 * keeping the whole document), and a replay of 100,000 devices keeps one of each kind per device.
 */
interface KeptReport {
  time: number;
  document: string;
}

/** A device's latest reports as kept: its storage volumes read once, for the fleet-wide storage question. */
interface KeptInventory {
  machine: (KeptReport & { volumes: Volume[] }) | null;
  software: KeptReport | null;
  collectedFiles: DeviceInventory['collectedFiles'];
}

/**
 * Machine inventory, software inventory and collected files per device: the latest of each, and the reports before
 * it (up to HISTORY_DEPTH of each kind), in memory, as the documents devices sent (see KeptReport). Answers the
 * questions an administrator asks of a fleet: who has a file (at a version), and how much storage is free per platform.
 */
export class InventoryStore {
  private readonly devices = new Map<string, KeptInventory>();
  private readonly histories = new Map<string, { machine: KeptReport[]; software: KeptReport[] }>();
  private counts = { machine: 0, software: 0, files: 0 };

  private of(device: string): KeptInventory {
    let inventory = this.devices.get(device);
    if (!inventory) {
      inventory = { machine: null, software: null, collectedFiles: {} };
      this.devices.set(device, inventory);
    }
    return inventory;
  }

  private historyOf(device: string): { machine: KeptReport[]; software: KeptReport[] } {
    let history = this.histories.get(device);
    if (!history) this.histories.set(device, (history = { machine: [], software: [] }));
    return history;
  }

  /** Takes a machine inventory document; one that does not decode is refused (ProtocolError) and changes nothing. */
  recordMachine(device: string, time: number, document: string): void {
    const volumes = volumesOf(itemsOf(document));
    const inventory = this.of(device);
    if (inventory.machine) this.historyOf(device).machine = [inventory.machine, ...this.historyOf(device).machine].slice(0, HISTORY_DEPTH);
    inventory.machine = { time, document, volumes };
    this.counts.machine++;
  }

  /** Takes a software inventory document; one that does not decode is refused (ProtocolError) and changes nothing. */
  recordSoftware(device: string, time: number, document: string): void {
    filesOf(document);
    const inventory = this.of(device);
    if (inventory.software) this.historyOf(device).software = [inventory.software, ...this.historyOf(device).software].slice(0, HISTORY_DEPTH);
    inventory.software = { time, document };
    this.counts.software++;
  }

  recordFile(device: string, time: number, path: string, size: number): void {
    this.of(device).collectedFiles[path] = { size, time };
    this.counts.files++;
  }

  get(device: string): DeviceInventory | undefined {
    const inventory = this.devices.get(device);
    if (!inventory) return undefined;
    const { machine, software, collectedFiles } = inventory;
    return { machine: machine && machineReport(machine), software: software && softwareReport(software), collectedFiles };
  }

  /** A device's earlier reports, newest first. */
  history(device: string): InventoryHistory {
    const history = this.histories.get(device);
    return { machine: history?.machine.map(machineReport) ?? [], software: history?.software.map(softwareReport) ?? [] };
  }

  /** Devices whose latest software inventory lists a file of this name (any case), at this version if one is given. */
  devicesWithFile(name: string, version: string | undefined): FileOwnership[] {
    const wanted = name.toLowerCase();
    const found: FileOwnership[] = [];
    for (const [device, inventory] of this.devices) {
      for (const file of inventory.software ? filesOf(inventory.software.document) : []) {
        if (fileName(file.path).toLowerCase() !== wanted) continue;
        if (version !== undefined && !versionMatches(file.version, version)) continue;
        found.push({ device, path: file.path, size: file.size, ...(file.version !== undefined && { version: file.version }) });
      }
    }
    return found.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  /** Free storage per platform and volume, from each device's latest machine inventory (Device_FileSystem, KB). */
  storageByPlatform(platformOf: (device: string) => string | undefined): PlatformStorage[] {
    const platforms = new Map<string, PlatformStorage>();
    for (const [device, inventory] of this.devices) {
      const platform = platformOf(device);
      if (!inventory.machine || platform === undefined) continue;
      let entry = platforms.get(platform);
      if (!entry) platforms.set(platform, (entry = { platform, devices: 0, volumes: {} }));
      entry.devices++;
      for (const { name: volume, size, used } of inventory.machine.volumes) {
        const free = Math.max(0, size - used);
        const totals = entry.volumes[volume] ?? { devices: 0, totalKB: 0, freeKB: 0, minFreeKB: free };
        entry.volumes[volume] = {
          devices: totals.devices + 1,
          totalKB: totals.totalKB + size,
          freeKB: totals.freeKB + free,
          minFreeKB: Math.min(totals.minFreeKB, free),
        };
      }
    }
    return [...platforms.values()].sort((a, b) => (a.platform < b.platform ? -1 : 1));
  }

  /** Reports received since the site started, by kind. */
  get received(): { machine: number; software: number; files: number } {
    return { ...this.counts };
  }
}

const machineReport = ({ time, document }: KeptReport) => ({ time, items: itemsOf(document) });
const softwareReport = ({ time, document }: KeptReport) => ({ time, files: filesOf(document) });
