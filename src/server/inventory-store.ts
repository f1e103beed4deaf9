import type { InventoryItem, MachineInventory } from '../protocol/documents/machine-inventory.js';

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

/** Machine inventory, software inventory and collected files per device, the latest of each (in memory). */
export class InventoryStore {
  private readonly devices = new Map<string, DeviceInventory>();
  private counts = { machine: 0, software: 0, files: 0 };

  private of(device: string): DeviceInventory {
    let inventory = this.devices.get(device);
    if (!inventory) {
      inventory = { machine: null, software: null, collectedFiles: {} };
      this.devices.set(device, inventory);
    }
    return inventory;
  }

  recordMachine(device: string, time: number, report: MachineInventory): void {
    this.of(device).machine = { time, items: report.items };
    this.counts.machine++;
  }

  recordSoftware(device: string, time: number, files: SoftwareFile[]): void {
    this.of(device).software = { time, files };
    this.counts.software++;
  }

  recordFile(device: string, time: number, path: string, size: number): void {
    this.of(device).collectedFiles[path] = { size, time };
    this.counts.files++;
  }

  get(device: string): DeviceInventory | undefined {
    return this.devices.get(device);
  }

  /** Reports received since the site started, by kind. */
  get received(): { machine: number; software: number; files: number } {
    return { ...this.counts };
  }
}
