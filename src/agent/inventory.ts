/**
 * What a handheld reports about itself, from its state (its platform's base image and its own changes,
 * src/device/): machine inventory with the device classes and property names real devices send (reference §13.3),
 * its volumes' sizes and use among them, and software inventory of the files on it that the poll response's file
 * filters select, with their sizes, times, attributes and version resources.
 */
import { openDevice, type DeviceState } from '../device/device-state.js';
import { attributesText, nameOf, parentOf, type FileEntry, type FileSystem } from '../device/file-system.js';
import type { FileFilter } from '../domain/client-settings.js';
import type { FileReport, ReportedDirectory, ReportedFile } from '../protocol/documents/file-report.js';
import type { MachineInventory } from '../protocol/documents/machine-inventory.js';
import { PROCESSOR_ARM } from './device-identity.js';
import type { DeviceProfile } from './device-profile.js';

/** Every file and directory on the device. */
export function deviceEntries(profile: DeviceProfile, state: DeviceState): FileEntry[] {
  return openDevice(profile, state, 0).files.entries();
}

/** A filter's `*` wildcards as a regular expression, case-insensitive (CE file names are). */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
}

interface CompiledFilter {
  base: string;
  recursive: boolean;
  name: RegExp;
}

/**
 * Filters compiled once per list: a poll response's settings are decoded once per distinct text and shared by the
 * devices that received it (frozen), so each list is compiled once, not once per device and report.
 */
const compiledFilters = new WeakMap<readonly FileFilter[], readonly CompiledFilter[]>();

function compiled(filters: readonly FileFilter[]): readonly CompiledFilter[] {
  let list = compiledFilters.get(filters);
  if (list === undefined) {
    list = filters.map((f) => ({ base: f.path.replace(/\\$/, '').toLowerCase(), recursive: f.recursive, name: wildcard(f.filter) }));
    compiledFilters.set(filters, list);
  }
  return list;
}

/** The files (not directories) the filters select. */
export function selectFiles(entries: readonly FileEntry[], filters: readonly FileFilter[]): FileEntry[] {
  const selectors = compiled(filters);
  return entries.filter((file) => {
    if (file.directory) return false;
    const dir = parentOf(file.path).toLowerCase();
    return selectors.some((f) => (dir === f.base || (f.recursive && dir.startsWith(`${f.base}\\`))) && f.name.test(nameOf(file.path)));
  });
}

/** A software inventory report of the selected files, as one tree under `\`; directories as `entries` has them. */
export function softwareInventory(files: readonly FileEntry[], entries: readonly FileEntry[]): FileReport {
  const tree = new ReportTree(entries);
  for (const file of files) tree.directoryAt(parentOf(file.path)).files.push(reportedFile(file));
  return { root: tree.root };
}

/** A report's directories by path, each made (with the ones above it) when first asked for. */
class ReportTree {
  readonly root: ReportedDirectory = { name: '\\', directories: [], files: [] };
  private readonly nodes = new Map<string, ReportedDirectory>([['\\', this.root]]);
  private directories: Map<string, FileEntry> | undefined;

  constructor(private readonly entries: readonly FileEntry[]) {}

  directoryAt(path: string): ReportedDirectory {
    let node = this.nodes.get(path);
    if (node) return node;
    const parent = this.directoryAt(parentOf(path));
    node = { name: path, directories: [], files: [] };
    this.directories ??= new Map(this.entries.filter((e) => e.directory).map((e) => [e.path.toLowerCase(), e]));
    const entry = this.directories.get(path.toLowerCase());
    if (entry) {
      node.created = entry.created;
      node.attributes = attributesText(entry.attributes);
    }
    parent.directories.push(node);
    this.nodes.set(path, node);
    return node;
  }
}

/** A file as software inventory reports it; built field by field (spreading optional fields cost more). */
function reportedFile(file: FileEntry): ReportedFile {
  const reported: ReportedFile = { name: nameOf(file.path), size: file.size };
  if (file.version !== undefined) reported.version = file.version;
  if (file.company !== undefined) reported.company = file.company;
  if (file.description !== undefined) reported.description = file.description;
  reported.created = file.created;
  reported.lastModified = file.modified;
  reported.attributes = attributesText(file.attributes);
  return reported;
}

/**
 * The machine inventory report of a device, from its profile, the address it polls with, and its volumes as its
 * file system has them. Sizes in KB.
 */
export function machineInventoryOf(profile: DeviceProfile, ipAddress: string, files: FileSystem): MachineInventory {
  const [major = '0', minor = '0', build = '0'] = profile.osVersion.split('.');
  const objectStore = files.volumes[0];
  return {
    type: 'machine',
    items: [
      {
        name: 'Device_System',
        properties: [
          property('PlatformType', profile.platform),
          property('OEMInfo', 'mlc-sim handheld'),
          property('NumberOfProcessors', 1),
          property('ProcessorArchitecture', 5),
          property('ProcessorType', PROCESSOR_ARM),
          property('ProcessorLevel', 4),
          property('ProcessorRevision', 0),
          property('ISA', 'ARMV4I'),
        ],
      },
      {
        name: 'Device_OS',
        properties: [property('Platform', 3), property('MajorVersion', major), property('MinorVersion', minor), property('BuildNumber', build)],
      },
      {
        name: 'Device_Network',
        properties: [
          property('IPAddress', ipAddress),
          property('IPSubnet', '255.255.0.0'),
          property('MAC', '00-00-00-00-00-00'),
          property('Bandwidth', profile.connectivity.bandwidthKBps),
        ],
      },
      {
        name: 'Device_Power',
        properties: [
          property('AC', profile.connectivity.kind === 'docked' ? 1 : 0),
          property('Battery', 1),
          property('BatteryPercent', 80),
          property('Backup', 255),
          property('BackupPercent', 255),
        ],
      },
      { name: 'Device_Display', properties: [property('VerticalResolution', 320), property('HorizontalResolution', 240), property('NumberOfColors', 65536)] },
      {
        name: 'Device_Memory',
        properties: [
          property('Total', 65536),
          property('Program', 32768),
          property('ProgramFree', 16384),
          property('Storage', kb(objectStore?.sizeBytes ?? 0)),
          property('StorageFree', kb(objectStore ? files.freeBytes(objectStore) : 0)),
        ],
      },
      ...files.volumes.map((volume) => ({
        name: 'Device_FileSystem',
        properties: [property('Name', volume.name), property('Size', kb(volume.sizeBytes)), property('UsedSpace', kb(files.usedBytes(volume)))],
      })),
    ],
  };
}

const kb = (bytes: number) => Math.round(bytes / 1024);
const property = (name: string, value: string | number): [string, string] => [name, String(value)];
