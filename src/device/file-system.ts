/**
 * A handheld's file system: volumes (the object store at `\`, a storage card, flash) each with a size, and
 * directories and files with attributes. A device's files are its platform's base image (frozen, shared by every
 * device of the platform) with the device's own changes over it: a path it wrote maps to the new entry, a path it
 * deleted to null. A device that changed nothing holds the one shared empty record.
 *
 * `FileSystem` is a working copy for one run of a command (unpack, CAB install, script): it reads through the
 * changes to the base image and hands back the new changes. It does no I/O.
 */
import { DEVICE_FAILURE, DeviceError } from './device-error.js';
import { ChangesOverBase } from './changes-over-base.js';

/** Win32 file attribute bits, by the names the software inventory report and `setattrs` use. */
export const ATTRIBUTE = { READONLY: 0x1, HIDDEN: 0x2, SYSTEM: 0x4, ARCHIVE: 0x20, TEMPORARY: 0x100, COMPRESSED: 0x800 } as const;

export type AttributeName = keyof typeof ATTRIBUTE;

/** `ARCHIVE|READONLY`, or empty for none (reference §10.1). */
export function attributesText(mask: number): string {
  let text = attributeTexts.get(mask);
  if (text === undefined) {
    text = (Object.keys(ATTRIBUTE) as AttributeName[]).filter((name) => (mask & ATTRIBUTE[name]) !== 0).join('|');
    attributeTexts.set(mask, text);
  }
  return text;
}

/** Each mask's text, once: inventory writes it for every file it reports, and a device has a handful of masks. */
const attributeTexts = new Map<number, string>();

/** `READONLY|HIDDEN` (any case), or `0` for none, as `setattrs` takes them. */
export function parseAttributes(text: string): number {
  if (text.trim() === '0') return 0;
  return text.split('|').reduce((mask, part) => {
    const name = part.trim().toUpperCase();
    if (!(name in ATTRIBUTE))
      throw new DeviceError(DEVICE_FAILURE.scriptError, `unknown attribute "${part.trim()}" (READONLY, HIDDEN, SYSTEM, ARCHIVE, TEMPORARY, COMPRESSED or 0)`);
    return mask | ATTRIBUTE[name as AttributeName];
  }, 0);
}

/** A text file's text: UTF-16 with its byte order mark (CE's Unicode text files, regedit 5), or UTF-8. */
export function textOf(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

/**
 * What a file written with these bytes is: its size and its version resource. A simulated executable carries the
 * resource as text lines in its first 4 KB (`FileVersion=3.2.0.0`, `CompanyName=…`, `FileDescription=…`), standing
 * for a PE file's VERSIONINFO.
 */
export function fileFactsOf(bytes: Buffer): FileFacts {
  let facts = fileFacts.get(bytes);
  if (facts === undefined) {
    const head = bytes.subarray(0, 4096).toString('latin1');
    const [version, company, description] = VERSION_FIELDS.map((field) => field.exec(head)?.[1]?.trim());
    facts = Object.freeze({ size: bytes.length, ...(version && { version }), ...(company && { company }), ...(description && { description }) });
    fileFacts.set(bytes, facts);
  }
  return facts;
}

const VERSION_FIELDS = [/^FileVersion=(.+)$/m, /^CompanyName=(.+)$/m, /^FileDescription=(.+)$/m];

/**
 * File facts by the bytes they were read from: a rollout's devices install the very same Buffers (shared, unpacked
 * once per archive; nothing writes to them), so each is read once.
 */
const fileFacts = new WeakMap<Buffer, FileFacts>();

export interface FileEntry {
  /** Fully qualified, as it was written (CE file names keep their case and compare without it). */
  path: string;
  directory: boolean;
  size: number;
  attributes: number;
  created: number;
  modified: number;
  /** From the file's version resource, when it has one. */
  version?: string;
  company?: string;
  description?: string;
}

/** What a file written to the device is: its size and version resource. */
export type FileFacts = Pick<FileEntry, 'size' | 'version' | 'company' | 'description'>;

export interface Volume {
  /** As machine inventory names it: `Object Store`, `Storage Card`, `Flash`. */
  name: string;
  /** Where it is mounted: `\` for the object store. */
  mount: string;
  sizeBytes: number;
  /** Used before the device changed anything: the base image's files on it and data no file here stands for. */
  baseUsedBytes: number;
}

/** Lower-cased full path → the device's entry over the base image, or null where it deleted the base's. */
export type FileChanges = Readonly<Record<string, FileEntry | null>>;

export type FileTree = ReadonlyMap<string, FileEntry>;

const INVALID = /[<>:"|?*]/;

/**
 * A path already in normal form, which most paths a device handles are: absolute, backslashes only, no empty, `.`
 * or `..` part, no character a file name cannot have, no space to trim at either end.
 */
const NORMAL = /^(?:\\(?!\.\.?(?:\\|$))[^\\/<>:"|?*]+)+(?<!\s)$/;

/** `\Program Files\X`: backslashes, one between parts, none at the end. Relative paths are refused. */
export function normalizePath(path: string): string {
  if (NORMAL.test(path)) return path;
  const trimmed = path.trim().replace(/\//g, '\\');
  if (!trimmed.startsWith('\\')) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `"${path}" is not an absolute path`);
  if (INVALID.test(trimmed)) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `"${path}" has a character a file name cannot have`);
  const parts = trimmed.split('\\').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `"${path}" climbs with ".."`);
  return `\\${parts.join('\\')}`;
}

export const keyOf = (path: string) => path.toLowerCase();
export const parentOf = (path: string) => path.slice(0, path.lastIndexOf('\\')) || '\\';
export const nameOf = (path: string) => path.slice(path.lastIndexOf('\\') + 1);
const isUnder = (key: string, dirKey: string) => (dirKey === '\\' ? key !== '\\' : key.startsWith(`${dirKey}\\`));

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export class FileSystem {
  private readonly edits: ChangesOverBase<FileEntry>;
  private readonly used = new Map<Volume, number>();
  /** The volumes by lower-cased mount point, longest first: the first that holds a path is its volume. */
  private readonly mounts: readonly { key: string; volume: Volume }[];

  constructor(
    private readonly base: FileTree,
    changes: FileChanges,
    readonly volumes: readonly Volume[],
    private readonly now: number,
  ) {
    this.edits = new ChangesOverBase(changes, base);
    this.mounts = volumes.map((volume) => ({ key: keyOf(volume.mount), volume })).sort((a, b) => b.volume.mount.length - a.volume.mount.length);
    for (const volume of volumes) this.used.set(volume, volume.baseUsedBytes);
    for (const [key, entry] of Object.entries(changes)) this.account(key, base.get(key), entry);
  }

  /** The device's changes after this run: the new state to keep. */
  changesMade(): FileChanges {
    return this.edits.current;
  }

  private get changes(): FileChanges {
    return this.edits.current;
  }

  stat(path: string): FileEntry | undefined {
    return this.entryAt(normalizePath(path));
  }

  /** `stat` of a path already normalized. */
  private entryAt(normalized: string): FileEntry | undefined {
    const key = keyOf(normalized);
    if (key === '\\') return this.root;
    const entry = key in this.changes ? this.changes[key] : this.base.get(key);
    if (entry) return entry;
    const mount = this.mounts.find((m) => m.key === key);
    return mount && { ...this.root, path: mount.volume.mount };
  }

  /** Every file and directory, base and changes merged, sorted by path. */
  entries(): FileEntry[] {
    return this.keyedEntries((): boolean => true);
  }

  /** The entries under a directory, at any depth. */
  under(path: string): FileEntry[] {
    const dirKey = keyOf(normalizePath(path));
    return this.keyedEntries((key) => isUnder(key, dirKey));
  }

  /** The volume a path is on: the one with the longest mount point above it. */
  volumeOf(path: string): Volume {
    return this.volumeOfKey(keyOf(normalizePath(path)), path);
  }

  usedBytes(volume: Volume): number {
    return this.used.get(volume) ?? volume.baseUsedBytes;
  }

  freeBytes(volume: Volume): number {
    return Math.max(0, volume.sizeBytes - this.usedBytes(volume));
  }

  /** Creates every missing level; an existing directory is no error, a file in the way is. */
  createDirectory(path: string): void {
    this.makeDirectory(normalizePath(path));
  }

  /** `createDirectory` of a path already normalized. */
  private makeDirectory(normalized: string): void {
    if (normalized === '\\') return;
    const existing = this.entryAt(normalized);
    if (existing?.directory) return;
    if (existing) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `${normalized} is a file, not a directory`);
    this.makeDirectory(parentOf(normalized));
    this.set(normalized, { path: normalized, directory: true, size: 0, attributes: 0, created: this.now, modified: this.now });
  }

  /** Writes a file (its directory is made if missing): fails on a read-only file or a volume without room. */
  writeFile(path: string, facts: FileFacts, attributes: number = ATTRIBUTE.ARCHIVE): void {
    const normalized = normalizePath(path);
    const existing = this.entryAt(normalized);
    if (existing?.directory) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `${normalized} is a directory`);
    if (existing && existing.attributes & ATTRIBUTE.READONLY) throw new DeviceError(DEVICE_FAILURE.accessDenied, `${normalized} is read-only`);
    this.ensureRoom(normalized, facts.size - (existing?.size ?? 0));
    this.makeDirectory(parentOf(normalized));
    // Built field by field: spreading facts of many shapes into it cost more than the rest of the write.
    const entry: FileEntry = { path: normalized, directory: false, size: facts.size, attributes, created: existing?.created ?? this.now, modified: this.now };
    if (facts.version !== undefined) entry.version = facts.version;
    if (facts.company !== undefined) entry.company = facts.company;
    if (facts.description !== undefined) entry.description = facts.description;
    this.set(normalized, entry);
  }

  /**
   * Copies a file or a whole tree to `to` (into it, when `to` is an existing directory), making the destination's
   * directories. The room it needs is checked before anything is written.
   */
  copy(from: string, to: string): void {
    const source = this.existing(from);
    let target = normalizePath(to);
    if (this.stat(target)?.directory && !source.directory) target = `${target === '\\' ? '' : target}\\${nameOf(source.path)}`;
    const tree = source.directory ? this.under(source.path) : [];
    const bytes = source.directory ? tree.reduce((sum, e) => sum + e.size, 0) : source.size;
    this.ensureRoom(target, bytes);
    if (!source.directory) {
      this.writeFile(target, source, source.attributes);
      return;
    }
    this.createDirectory(target);
    for (const entry of tree) {
      const destination = target + entry.path.slice(source.path.length);
      if (entry.directory) this.createDirectory(destination);
      else this.writeFile(destination, entry, entry.attributes);
    }
  }

  /**
   * Deletes a file or a whole tree; a missing path is no error. Directories left empty above it go too, up to a
   * directory of the base image (`\Temp`, `\Program Files`: the system's own folders stay).
   */
  delete(path: string): void {
    const normalized = normalizePath(path);
    const entry = this.stat(normalized);
    if (!entry) return;
    if (this.isMountPoint(normalized)) throw new DeviceError(DEVICE_FAILURE.accessDenied, `${normalized} is a volume and cannot be deleted`);
    const doomed = [entry, ...(entry.directory ? this.under(normalized) : [])];
    const readOnly = doomed.find((e) => !e.directory && e.attributes & ATTRIBUTE.READONLY);
    if (readOnly) throw new DeviceError(DEVICE_FAILURE.accessDenied, `${readOnly.path} is read-only`);
    for (const e of doomed) this.set(e.path, null);
    let parent = parentOf(normalized);
    while (parent !== '\\' && !this.isMountPoint(parent) && !this.base.has(keyOf(parent)) && !this.holdsAnything(keyOf(parent))) {
      this.set(parent, null);
      parent = parentOf(parent);
    }
  }

  /** Renames a file or a tree; both paths on the same volume. */
  rename(from: string, to: string): void {
    const source = this.existing(from);
    const target = normalizePath(to);
    if (this.volumeOf(source.path) !== this.volumeOf(target)) {
      throw new DeviceError(DEVICE_FAILURE.pathInvalid, `rename cannot move ${source.path} to another volume (${target})`);
    }
    if (this.stat(target)) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `${target} already exists`);
    const tree = [source, ...(source.directory ? this.under(source.path) : [])];
    this.createDirectory(parentOf(target));
    for (const entry of tree) {
      this.set(entry.path, null);
      const path = target + entry.path.slice(source.path.length);
      this.set(path, { ...entry, path });
    }
  }

  setAttributes(path: string, attributes: number): void {
    const entry = this.existing(path);
    this.set(entry.path, { ...entry, attributes });
  }

  private existing(path: string): FileEntry {
    const entry = this.stat(path);
    if (!entry) throw new DeviceError(DEVICE_FAILURE.fileNotFound, `${normalizePath(path)} does not exist`);
    return entry;
  }

  private ensureRoom(normalized: string, bytes: number): void {
    const volume = this.volumeOfKey(keyOf(normalized), normalized);
    const free = this.freeBytes(volume);
    if (bytes > free) {
      throw new DeviceError(
        DEVICE_FAILURE.volumeFull,
        `volume ${volume.mount === '\\' ? volume.name : volume.mount} full: needs ${megabytes(bytes)}, ${megabytes(free)} free`,
      );
    }
  }

  private isMountPoint(path: string): boolean {
    const key = keyOf(path);
    return this.mounts.some((m) => m.key === key);
  }

  private volumeOfKey(key: string, path: string): Volume {
    const mount = this.mounts.find((m) => m.key === '\\' || key === m.key || isUnder(key, m.key));
    if (!mount) throw new DeviceError(DEVICE_FAILURE.pathInvalid, `no volume holds ${path}`);
    return mount.volume;
  }

  /** The entries, base and changes merged, whose keys pass `select`, sorted by path (by key: no case to fold). */
  private keyedEntries(select: (key: string) => boolean): FileEntry[] {
    const selected: [string, FileEntry][] = [];
    for (const [key, entry] of this.base) if (!(key in this.changes) && select(key)) selected.push([key, entry]);
    for (const key in this.changes) {
      const entry = this.changes[key];
      if (entry && select(key)) selected.push([key, entry]);
    }
    return selected.sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, entry]) => entry);
  }

  /** Whether a directory has anything under it. */
  private holdsAnything(dirKey: string): boolean {
    for (const key in this.changes) if (this.changes[key] && isUnder(key, dirKey)) return true;
    for (const key of this.base.keys()) if (!(key in this.changes) && isUnder(key, dirKey)) return true;
    return false;
  }

  private set(path: string, entry: FileEntry | null): void {
    const key = keyOf(path);
    const before = key in this.changes ? this.changes[key] : this.base.get(key);
    this.account(key, before ?? undefined, entry);
    this.edits.put(key, entry);
  }

  /** Moves a volume's used bytes from the entry that was at a path to the one that is. */
  private account(key: string, before: FileEntry | null | undefined, after: FileEntry | null): void {
    const delta = (after && !after.directory ? after.size : 0) - (before && !before.directory ? before.size : 0);
    if (delta === 0) return;
    const volume = this.volumeOfKey(key, before?.path ?? after?.path ?? key);
    this.used.set(volume, this.usedBytes(volume) + delta);
  }

  private get root(): FileEntry {
    return { path: '\\', directory: true, size: 0, attributes: 0, created: 0, modified: 0 };
  }
}
