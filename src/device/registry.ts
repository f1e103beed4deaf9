/**
 * A handheld's registry (keys under `HKLM` and `HKCU`, each with named values), as the base image's keys with the
 * device's changes over them; and the `.reg` files `loadreg` imports and `savereg` writes. Like the file system,
 * `Registry` is a working copy for one run that hands back the new changes.
 */
import { DEVICE_FAILURE, DeviceError } from './device-error.js';
import { ChangesOverBase } from './changes-over-base.js';

export type RegistryType = 'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_MULTI_SZ' | 'REG_DWORD' | 'REG_BINARY';

export interface RegistryValue {
  /** Empty for the key's default value (`@` in a .reg file). */
  name: string;
  type: RegistryType;
  /** REG_DWORD in decimal, REG_BINARY as hex bytes, REG_MULTI_SZ joined with `\0`. */
  data: string;
}

export interface RegistryKey {
  /** `HKLM\Software\Vendor\App`. */
  path: string;
  /** By lower-cased value name. */
  values: Readonly<Record<string, RegistryValue>>;
}

/** Lower-cased key path → the device's key over the base image, or null where it deleted the base's. */
export type RegistryChanges = Readonly<Record<string, RegistryKey | null>>;

const ROOTS: Readonly<Record<string, string>> = { hkey_local_machine: 'HKLM', hklm: 'HKLM', hkey_current_user: 'HKCU', hkcu: 'HKCU' };

/** A key path already in normal form, as most are: a short root, one backslash between parts, none at the end, nothing to trim. */
const NORMAL_KEY = /^HK(?:LM|CU)(?:\\[^\\]+)*(?<!\s)$/;

/** `HKEY_LOCAL_MACHINE\Software\X` or `HKLM\Software\X` → `HKLM\Software\X`; other roots are refused. */
export function normalizeKey(path: string): string {
  if (NORMAL_KEY.test(path)) return path;
  const parts = path.trim().split('\\').filter(Boolean);
  const root = ROOTS[(parts[0] ?? '').toLowerCase()];
  if (root === undefined) throw new DeviceError(DEVICE_FAILURE.registryImportFailed, `"${path}" is not under HKLM or HKCU`);
  return [root, ...parts.slice(1)].join('\\');
}

const keyOf = (path: string) => path.toLowerCase();

export class Registry {
  private readonly edits: ChangesOverBase<RegistryKey>;

  constructor(
    private readonly base: ReadonlyMap<string, RegistryKey>,
    changes: RegistryChanges,
  ) {
    this.edits = new ChangesOverBase(changes, base);
  }

  changesMade(): RegistryChanges {
    return this.edits.current;
  }

  private get changes(): RegistryChanges {
    return this.edits.current;
  }

  key(path: string): RegistryKey | undefined {
    return this.keyAt(normalizeKey(path));
  }

  /** `key` of a path already normalized. */
  private keyAt(normalized: string): RegistryKey | undefined {
    const key = keyOf(normalized);
    return (key in this.changes ? this.changes[key] : this.base.get(key)) ?? undefined;
  }

  value(path: string, name: string): RegistryValue | undefined {
    return this.key(path)?.values[name.toLowerCase()];
  }

  /** A key and every key below it, sorted by path. */
  subtree(path: string): RegistryKey[] {
    const prefix = keyOf(normalizeKey(path));
    return this.keys().filter((k) => keyOf(k.path) === prefix || keyOf(k.path).startsWith(`${prefix}\\`));
  }

  keys(): RegistryKey[] {
    const merged = new Map(this.base);
    for (const [key, value] of Object.entries(this.changes)) {
      if (value) merged.set(key, value);
      else merged.delete(key);
    }
    return [...merged.values()].sort((a, b) => (keyOf(a.path) < keyOf(b.path) ? -1 : 1));
  }

  createKey(path: string): void {
    const normalized = normalizeKey(path);
    if (!this.keyAt(normalized)) this.set(normalized, { path: normalized, values: {} });
  }

  setValue(path: string, value: RegistryValue): void {
    const normalized = normalizeKey(path);
    const key = this.keyAt(normalized);
    this.set(key?.path ?? normalized, { path: key?.path ?? normalized, values: { ...key?.values, [value.name.toLowerCase()]: value } });
  }

  deleteValue(path: string, name: string): void {
    const key = this.key(path);
    if (!key || !(name.toLowerCase() in key.values)) return;
    const values = Object.fromEntries(Object.entries(key.values).filter(([valueName]) => valueName !== name.toLowerCase()));
    this.set(key.path, { ...key, values });
  }

  /** Deletes a key and its subkeys; a missing key is no error. */
  deleteKey(path: string): void {
    for (const key of this.subtree(path)) this.set(key.path, null);
  }

  /** Applies a parsed .reg file. */
  import(operations: readonly RegOperation[]): void {
    for (const op of operations) {
      if (op.kind === 'deleteKey') this.deleteKey(op.key);
      else if (op.kind === 'createKey') this.createKey(op.key);
      else if (op.kind === 'deleteValue') this.deleteValue(op.key, op.name);
      else this.setValue(op.key, op.value);
    }
  }

  private set(path: string, key: RegistryKey | null): void {
    this.edits.put(keyOf(path), key);
  }
}

// --- .reg files ----------------------------------------------------------------------------------------------------

export type RegOperation =
  | { kind: 'createKey'; key: string }
  | { kind: 'deleteKey'; key: string }
  | { kind: 'setValue'; key: string; value: RegistryValue }
  | { kind: 'deleteValue'; key: string; name: string };

const HEADERS = ['REGEDIT4', 'Windows Registry Editor Version 5.00'];

/**
 * Parses a .reg file into the operations it asks for. Anything it cannot read fails the whole import, naming the
 * file, the line and the reason, before anything is applied.
 */
export function parseRegFile(text: string, file: string): RegOperation[] {
  const fail: (line: number, reason: string) => never = (line, reason) => {
    throw new DeviceError(DEVICE_FAILURE.registryImportFailed, `${file} line ${line}: ${reason}`);
  };
  // Joins continuation lines (a trailing backslash), keeping the number of each logical line's first line.
  const lines: { number: number; text: string }[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const previous = lines.at(-1);
    if (previous?.text.endsWith('\\') && /^\s/.test(raw)) previous.text = previous.text.slice(0, -1) + raw.trim();
    else lines.push({ number: index + 1, text: raw.trim() });
  }
  const first = lines.find((l) => l.text !== '');
  if (!first || !HEADERS.includes(first.text)) fail(first?.number ?? 1, `not a .reg file (the first line must be ${HEADERS.join(' or ')})`);
  const operations: RegOperation[] = [];
  let key: string | null = null;
  for (const { number, text: line } of lines.slice(lines.indexOf(first) + 1)) {
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) fail(number, 'a key line must end with "]"');
      const deleting = line.startsWith('[-');
      const path = line.slice(deleting ? 2 : 1, -1);
      try {
        key = normalizeKey(path);
      } catch (error) {
        fail(number, (error as Error).message);
      }
      operations.push({ kind: deleting ? 'deleteKey' : 'createKey', key });
      if (deleting) key = null;
      continue;
    }
    if (key === null) fail(number, 'a value before any [key]');
    const match = /^(@|"((?:[^"\\]|\\.)*)")\s*=\s*(.*)$/.exec(line);
    if (!match) fail(number, `cannot read "${line}"`);
    const name = match[1] === '@' ? '' : unescape(match[2] ?? '');
    const data = match[3] ?? '';
    if (data === '-') {
      operations.push({ kind: 'deleteValue', key, name });
      continue;
    }
    const value = valueOf(name, data);
    if (typeof value === 'string') fail(number, value);
    else operations.push({ kind: 'setValue', key, value });
  }
  return operations;
}

const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** The value a .reg line's data stands for, or why it cannot be read. */
function valueOf(name: string, data: string): RegistryValue | string {
  if (data.startsWith('"')) {
    if (!/^"((?:[^"\\]|\\.)*)"$/.test(data)) return `unterminated string ${data}`;
    return { name, type: 'REG_SZ', data: unescape(data.slice(1, -1)) };
  }
  const dword = /^dword:([0-9a-fA-F]{1,8})$/.exec(data);
  if (dword) return { name, type: 'REG_DWORD', data: String(parseInt(dword[1] ?? '0', 16)) };
  const hex = /^hex(?:\((\d+)\))?:([0-9a-fA-F]{2}(?:,[0-9a-fA-F]{2})*)?$/.exec(data);
  if (!hex) return `cannot read the value ${data}`;
  const bytes = Buffer.from((hex[2] ?? '').replace(/,/g, ''), 'hex');
  const kind = hex[1];
  const utf16 = () => bytes.toString('utf16le').replace(/\0+$/, '');
  if (kind === '2') return { name, type: 'REG_EXPAND_SZ', data: utf16() };
  if (kind === '7') return { name, type: 'REG_MULTI_SZ', data: utf16() };
  if (kind === undefined || kind === '3') return { name, type: 'REG_BINARY', data: bytes.toString('hex') };
  return `unsupported value type hex(${kind})`;
}

const LONG_ROOT: Readonly<Record<string, string>> = { HKLM: 'HKEY_LOCAL_MACHINE', HKCU: 'HKEY_CURRENT_USER' };

/** Keys as a REGEDIT4 file, as `savereg` writes them. */
export function formatRegFile(keys: readonly RegistryKey[]): string {
  const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const hexOf = (bytes: Buffer) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(',');
  const line = (v: RegistryValue) => {
    const name = v.name === '' ? '@' : quote(v.name);
    switch (v.type) {
      case 'REG_SZ':
        return `${name}=${quote(v.data)}`;
      case 'REG_DWORD':
        return `${name}=dword:${Number(v.data).toString(16).padStart(8, '0')}`;
      case 'REG_BINARY':
        return `${name}=hex:${hexOf(Buffer.from(v.data, 'hex'))}`;
      case 'REG_EXPAND_SZ':
        return `${name}=hex(2):${hexOf(Buffer.from(`${v.data}\0`, 'utf16le'))}`;
      case 'REG_MULTI_SZ':
        return `${name}=hex(7):${hexOf(Buffer.from(`${v.data}\0\0`, 'utf16le'))}`;
    }
  };
  const blocks = keys.map((k) => {
    const [root = '', ...rest] = k.path.split('\\');
    return [`[${[LONG_ROOT[root] ?? root, ...rest].join('\\')}]`, ...Object.values(k.values).map(line)].join('\r\n');
  });
  return ['REGEDIT4', '', ...blocks.map((b) => `${b}\r\n`)].join('\r\n');
}
