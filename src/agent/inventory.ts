/**
 * What a handheld reports about itself: machine inventory from its profile (the device classes and property names
 * real devices send, reference §13.3), and software inventory from the files on it, selected by the poll response's
 * file filters. Files are a small base image per platform plus what installed packages put in their destination.
 */
import type { FileFilter } from '../domain/client-settings.js';
import type { FileReport, ReportedDirectory } from '../protocol/documents/file-report.js';
import type { MachineInventory } from '../protocol/documents/machine-inventory.js';
import { ipAddressOf, PROCESSOR_ARM } from './device-identity.js';
import type { DeviceProfile } from './device-profile.js';

/** A file on the device: its full path (backslashes) and size. */
export interface DeviceFile {
  path: string;
  size: number;
}

/** Files every handheld has, whatever its platform: the client's own and the CAB installer. */
const BASE_IMAGE: readonly DeviceFile[] = [
  { path: '\\Windows\\dmsvc.dll', size: 94_208 },
  { path: '\\Windows\\dmscript.exe', size: 40_960 },
  { path: '\\Windows\\dminfos.dll', size: 28_672 },
  { path: '\\Windows\\wceload.exe', size: 55_296 },
  { path: '\\Program Files\\Device Client\\dmclient.exe', size: 61_440 },
];

/** Every file on the device: the base image, then each installed package's files under its destination. */
export function deviceFiles(installed: readonly { destination: string; files: readonly string[] }[]): DeviceFile[] {
  const files = [...BASE_IMAGE];
  for (const { destination, files: names } of installed) {
    for (const name of names) files.push({ path: `${destination.replace(/\\$/, '')}\\${name.replace(/\//g, '\\')}`, size: 4096 });
  }
  return files;
}

/** A filter's `*` wildcards, case-insensitively (CE file names are). */
function matches(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(name);
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('\\')) || '\\';
const nameOf = (path: string) => path.slice(path.lastIndexOf('\\') + 1);

/** The files the filters select. */
export function selectFiles(files: readonly DeviceFile[], filters: readonly FileFilter[]): DeviceFile[] {
  return files.filter((file) =>
    filters.some((f) => {
      const base = f.path.replace(/\\$/, '').toLowerCase();
      const dir = dirOf(file.path).toLowerCase();
      const inPath = dir === base || (f.recursive && dir.startsWith(`${base}\\`));
      return inPath && matches(f.filter, nameOf(file.path));
    }),
  );
}

/** A software inventory report of the selected files, as one tree under `\`. */
export function softwareInventory(files: readonly DeviceFile[]): FileReport {
  const root: ReportedDirectory = { name: '\\', directories: [], files: [] };
  for (const file of files) {
    let dir = root;
    for (const part of dirOf(file.path).split('\\').filter(Boolean)) {
      const name = `${dir.name === '\\' ? '' : dir.name}\\${part}`;
      let child = dir.directories.find((d) => d.name === name);
      if (!child) {
        child = { name, directories: [], files: [] };
        dir.directories.push(child);
      }
      dir = child;
    }
    dir.files.push({ name: nameOf(file.path), size: file.size });
  }
  return { root };
}

/** The machine inventory report of a device, from its profile. Sizes are in KB. */
export function machineInventoryOf(profile: DeviceProfile): MachineInventory {
  const [major = '0', minor = '0', build = '0'] = profile.osVersion.split('.');
  const storageKB = Math.round(profile.freeStorageBytes / 1024);
  const property = (name: string, value: string | number): [string, string] => [name, String(value)];
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
          property('IPAddress', ipAddressOf(profile)),
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
          property('Storage', 32768),
          property('StorageFree', 16384),
        ],
      },
      { name: 'Device_FileSystem', properties: [property('Name', 'Object Store'), property('Size', 32768), property('UsedSpace', 16384)] },
      { name: 'Device_FileSystem', properties: [property('Name', 'Storage Card'), property('Size', storageKB + 1024), property('UsedSpace', 1024)] },
      { name: 'Device_FileSystem', properties: [property('Name', 'Flash'), property('Size', 65536), property('UsedSpace', 32768)] },
    ],
  };
}
