/**
 * What wceload does with a cabinet (reference §7.3), worked out once per cabinet and shared: every file to where
 * the cabinet's `_setup.xml` puts it (or, without one, to `\Program Files\<cab name>`), its registry settings, and
 * the app's `HKLM\Software\Apps` entry. A rollout's devices install the very same cabinet bytes (unpacked once per
 * verified archive, see src/agent/downloader.ts), so reading the cabinet, inflating it and reading its
 * `_setup.xml` happen once for all of them; each device then applies the steps to its own file system and
 * registry, which is where a step can still fail (a read-only file, a full volume, a path no volume holds).
 */
import { decodeProvisioningDocument } from '../agent/provisioning-documents.js';
import type { Characteristic } from '../protocol/documents/provisioning.js';
import { readCabinet, type CabinetFile } from './cab.js';
import { DEVICE_FAILURE, type DeviceFailure } from './device-error.js';
import { ATTRIBUTE, nameOf, textOf } from './file-system.js';
import type { RegistryValue } from './registry.js';

/** One thing wceload does to the device, in the order it does them. */
export type InstallStep =
  | { kind: 'makeDirectory'; path: string }
  | { kind: 'writeFile'; path: string; data: Buffer; attributes: number }
  | { kind: 'setValue'; key: string; value: RegistryValue }
  /** The cabinet says something wceload cannot do: the install stops here, with what it did so far. */
  | { kind: 'fail'; reason: DeviceFailure; detail: string };

export interface CabinetInstall {
  /** How long wceload takes: a start, then the cabinet's bytes at a handheld's flash speed. */
  durationMs: number;
  steps: readonly InstallStep[];
}

const WCELOAD_START_MS = 2_000;
const WCELOAD_BYTES_PER_SECOND = 512 * 1024;

/** Windows CE's folder macros, as a CAB's `_setup.xml` uses them. */
const FOLDER_MACROS: Readonly<Record<string, string>> = {
  '%ce1%': '\\Program Files',
  '%ce2%': '\\Windows',
  '%ce3%': '\\Windows\\Desktop',
  '%ce4%': '\\Windows\\StartUp',
  '%ce5%': '\\My Documents',
  '%ce11%': '\\Windows\\Start Menu\\Programs',
  '%ce17%': '\\Windows\\Start Menu',
};

const expandMacros = (path: string) => path.replace(/%ce\d+%/gi, (macro) => FOLDER_MACROS[macro.toLowerCase()] ?? macro);

/**
 * Installs by the cabinet's bytes: each is the one Buffer every device of a rollout got, and nothing writes to it.
 * The install names the cabinet's path on the device (its app entry, its default folder, its errors), so it is kept
 * for the path it was worked out for.
 */
const installs = new WeakMap<Buffer, { path: string; install: CabinetInstall }>();

/**
 * The install of the cabinet at `path` on the device. A cabinet that cannot be read throws a DeviceError
 * (BadCabinet) naming the path, before wceload spends any time on it.
 */
export function cabinetInstall(bytes: Buffer, path: string): CabinetInstall {
  const known = installs.get(bytes);
  if (known?.path === path) return known.install;
  const install = planInstall(readCabinet(bytes, path), path, WCELOAD_START_MS + Math.round((bytes.length / WCELOAD_BYTES_PER_SECOND) * 1000));
  installs.set(bytes, { path, install });
  return install;
}

function planInstall(files: readonly CabinetFile[], path: string, durationMs: number): CabinetInstall {
  const steps: InstallStep[] = [];
  const setup = files.find((f) => f.name.toLowerCase() === '_setup.xml');
  const appName = nameOf(path).replace(/\.cab$/i, '');
  const installed = setup ? installFromSetup(files, setup, path, steps) : installAll(files, `\\Program Files\\${appName}`, steps);
  if (installed) {
    const app = `HKLM\\Software\\Apps\\${installed.appName ?? appName}`;
    steps.push(
      { kind: 'setValue', key: app, value: { name: 'Instl', type: 'REG_DWORD', data: '1' } },
      { kind: 'setValue', key: app, value: { name: 'InstlDir', type: 'REG_SZ', data: installed.dir } },
      { kind: 'setValue', key: app, value: { name: 'CabFile', type: 'REG_SZ', data: path } },
    );
  }
  // Shared by every device that installs the cabinet: frozen (a file's bytes are a Buffer, which cannot be).
  for (const step of steps) {
    if (step.kind === 'setValue') Object.freeze(step.value);
    Object.freeze(step);
  }
  return Object.freeze({ durationMs, steps: Object.freeze(steps) });
}

interface Installed {
  dir: string;
  appName?: string;
}

/** A cabinet without `_setup.xml`: every file into one directory (wceload's /noaskdest default). */
function installAll(files: readonly CabinetFile[], dir: string, steps: InstallStep[]): Installed {
  for (const file of files) steps.push(writeStep(`${dir}\\${file.name}`, file));
  return { dir };
}

/**
 * The WM 5+ `_setup.xml`: Install (AppName, InstallDir), FileOperation (MakeDir, Extract) and Registry. Null
 * when the install stops at a `fail` step.
 */
function installFromSetup(files: readonly CabinetFile[], setup: CabinetFile, cab: string, steps: InstallStep[]): Installed | null {
  let doc;
  try {
    doc = decodeProvisioningDocument(textOf(setup.data));
  } catch (error) {
    steps.push({ kind: 'fail', reason: DEVICE_FAILURE.badCabinet, detail: `${cab}: _setup.xml cannot be read (${(error as Error).message})` });
    return null;
  }
  const find = (type: string) => doc.characteristics.find((c) => c.type.toLowerCase() === type.toLowerCase());
  const parm = (c: Characteristic | undefined, name: string) => c?.parms.find((p) => p.name.toLowerCase() === name.toLowerCase())?.value;
  const install = find('Install');
  const appName = parm(install, 'AppName');
  const dir = expandMacros(parm(install, 'InstallDir') ?? `%CE1%\\${appName ?? nameOf(cab)}`);
  for (const folder of find('FileOperation')?.characteristics ?? []) {
    const target = expandMacros(folder.type);
    for (const item of folder.characteristics) {
      if (item.type.toLowerCase() === 'makedir') {
        steps.push({ kind: 'makeDirectory', path: target });
        continue;
      }
      const source = parm(
        item.characteristics.find((c) => c.type.toLowerCase() === 'extract'),
        'Source',
      );
      const file = files.find((f) => f.name.toLowerCase() === (source ?? item.type).toLowerCase());
      if (!file) {
        steps.push({
          kind: 'fail',
          reason: DEVICE_FAILURE.badCabinet,
          detail: `${cab}: _setup.xml extracts ${source ?? item.type}, which the cabinet does not hold`,
        });
        return null;
      }
      steps.push(writeStep(`${target}\\${item.type}`, file));
    }
  }
  for (const key of find('Registry')?.characteristics ?? []) {
    for (const p of key.parms) {
      const isNumber = p.datatype?.toLowerCase() === 'integer';
      steps.push({ kind: 'setValue', key: key.type, value: { name: p.name, type: isNumber ? 'REG_DWORD' : 'REG_SZ', data: p.value } });
    }
  }
  return { dir, ...(appName !== undefined && { appName }) };
}

/** A cabinet file written as wceload writes it: its own attributes kept, archive set as a freshly written file has it. */
const writeStep = (path: string, file: CabinetFile): InstallStep => ({
  kind: 'writeFile',
  path,
  data: file.data,
  attributes: (file.attributes & (ATTRIBUTE.READONLY | ATTRIBUTE.HIDDEN | ATTRIBUTE.SYSTEM)) | ATTRIBUTE.ARCHIVE,
});
