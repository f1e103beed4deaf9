/**
 * What a handheld holds before any package touched it: one frozen image per platform, shared by every device of
 * that platform (copy-on-write: a device keeps only its changes over it). ROM files in `\Windows` are read-only
 * system files, as on a real device; the CAB installer and the device-management client are among them.
 */
import type { Platform } from '../domain/platform.js';
import { ATTRIBUTE, keyOf, type FileEntry, type FileTree } from './file-system.js';
import type { RegistryKey, RegistryValue } from './registry.js';

export interface BaseImage {
  files: FileTree;
  registry: ReadonlyMap<string, RegistryKey>;
  /** What its files take on the object store. */
  bytes: number;
}

/** When the images were built: every base file is this old. */
const IMAGE_TIME = Date.parse('2009-01-01T00:00:00Z');
const ROM = ATTRIBUTE.READONLY | ATTRIBUTE.SYSTEM;

interface ImageFile {
  path: string;
  size: number;
  rom?: boolean;
  description?: string;
}

/** On every handheld: the device-management client, its script engine and inventory provider, and wceload. */
const COMMON_FILES: readonly ImageFile[] = [
  { path: '\\Windows\\dmsvc.dll', size: 94_208, rom: true, description: 'Device Management Service' },
  { path: '\\Windows\\dmscript.exe', size: 40_960, rom: true, description: 'Device Management Script Engine' },
  { path: '\\Windows\\dminfos.dll', size: 28_672, rom: true, description: 'Device Management Inventory Provider' },
  { path: '\\Windows\\wceload.exe', size: 55_296, rom: true, description: 'CAB File Installer' },
  { path: '\\Program Files\\Device Client\\dmclient.exe', size: 61_440, description: 'Mobile Device Client' },
];

const WINDOWS_MOBILE_FILES: readonly ImageFile[] = [
  { path: '\\Windows\\shell32.exe', size: 262_144, rom: true, description: 'Windows Mobile Shell' },
  { path: '\\Windows\\tmail.exe', size: 180_224, rom: true, description: 'Messaging' },
  { path: '\\Windows\\Start Menu\\Programs\\Messaging.lnk', size: 24, rom: true },
];

const WINDOWS_CE_FILES: readonly ImageFile[] = [
  { path: '\\Windows\\explorer.exe', size: 196_608, rom: true, description: 'Windows CE Explorer' },
  { path: '\\Windows\\cmd.exe', size: 73_728, rom: true, description: 'Command Processor' },
];

const DIRECTORIES = [
  '\\Windows',
  '\\Windows\\Start Menu',
  '\\Windows\\Start Menu\\Programs',
  '\\Program Files',
  '\\Program Files\\Device Client',
  '\\Temp',
  '\\My Documents',
];

const sz = (name: string, data: string): RegistryValue => ({ name, type: 'REG_SZ', data });
const dword = (name: string, data: number): RegistryValue => ({ name, type: 'REG_DWORD', data: String(data) });

function registryOf(platform: Platform): RegistryKey[] {
  const keys: { path: string; values: Record<string, RegistryValue> }[] = [
    { path: 'HKLM\\Software\\Apps', values: {} },
    { path: 'HKLM\\Software\\Microsoft\\DeviceManagement', values: { scriptengine: sz('ScriptEngine', '\\Windows\\dmscript.exe') } },
    { path: 'HKLM\\Software\\Microsoft\\Bluetooth\\Settings', values: { discoverable: dword('Discoverable', 0) } },
    { path: 'HKLM\\System\\Versions', values: { platform: sz('Platform', platform) } },
    { path: 'HKCU\\ControlPanel\\Owner', values: { name: sz('Name', '') } },
  ];
  return keys.map((key) => ({ ...key, values: Object.fromEntries(Object.values(key.values).map((v) => [v.name.toLowerCase(), v])) }));
}

function build(platform: Platform): BaseImage {
  const windowsMobile = /Windows Mobile|Pocket PC/.test(platform);
  const files = new Map<string, FileEntry>();
  for (const path of DIRECTORIES) {
    files.set(keyOf(path), { path, directory: true, size: 0, attributes: 0, created: IMAGE_TIME, modified: IMAGE_TIME });
  }
  for (const file of [...COMMON_FILES, ...(windowsMobile ? WINDOWS_MOBILE_FILES : WINDOWS_CE_FILES)]) {
    files.set(keyOf(file.path), {
      path: file.path,
      directory: false,
      size: file.size,
      attributes: file.rom ? ROM : ATTRIBUTE.ARCHIVE,
      created: IMAGE_TIME,
      modified: IMAGE_TIME,
      company: 'Microsoft Corporation',
      ...(file.description !== undefined && { description: file.description }),
    });
  }
  const registry = new Map(registryOf(platform).map((key) => [keyOf(key.path), Object.freeze(key)]));
  let bytes = 0;
  for (const entry of files.values()) bytes += entry.size;
  return Object.freeze({ files, registry, bytes });
}

const images = new Map<Platform, BaseImage>();

/** The platform's base image, built once and shared. */
export function baseImageOf(platform: Platform): BaseImage {
  let image = images.get(platform);
  if (!image) images.set(platform, (image = build(platform)));
  return image;
}
