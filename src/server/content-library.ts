import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create as createTar } from 'tar';
import { configurationItemFile, type ConfigurationItem } from '../domain/configuration-item.js';
import { writeCabinet } from '../device/cab.js';
import type { CabAuthoring, ConfigurationPackage, PackageContent, SoftwarePackage } from '../domain/package.js';
import { provisioningDocument, provisioningOf, type Characteristic } from '../protocol/documents/provisioning.js';

/** Fixed mtime so the same files always make the same archive, and so the same SHA-256. */
const ARCHIVE_MTIME = new Date('2009-01-01T00:00:00Z');

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files.sort();
}

/**
 * Builds a package's content as a real, reproducible tar archive: its source directory's files as they are, or
 * built into a CAB (`cab`), and/or with a script written next to them (`script`).
 */
export async function buildPackageContent(pkg: SoftwarePackage, contentRoot: string): Promise<PackageContent> {
  const source = pkg.source === undefined ? null : await readSource(pkg, pkg.source, contentRoot);
  if (source && pkg.cab === undefined && pkg.script === undefined) return archiveOf(pkg.id, pkg.version, source.dir, source.files);
  const built: { name: string; data: Buffer }[] = [];
  if (source && pkg.cab) built.push({ name: pkg.cab.name, data: buildCab(pkg.cab, await readAll(source)) });
  else if (source) built.push(...(await readAll(source)));
  if (pkg.script) built.push({ name: pkg.script.name, data: Buffer.from(pkg.script.text.replace(/\r?\n/g, '\r\n'), 'utf8') });
  return archiveOfFiles(pkg.id, pkg.version, built);
}

interface Source {
  dir: string;
  files: string[];
}

async function readSource(pkg: SoftwarePackage, relative: string, contentRoot: string): Promise<Source> {
  const root = path.resolve(contentRoot);
  const dir = path.resolve(root, relative);
  // Content comes from under the content root only: a source of "../../etc" must not be served to devices.
  if (dir !== root && !dir.startsWith(`${root}${path.sep}`)) throw new Error(`package ${pkg.id}: source "${relative}" is outside the content root`);
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (error) {
    throw new Error(`package ${pkg.id}: source directory ${dir} cannot be read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  if (files.length === 0) throw new Error(`package ${pkg.id}: source directory ${dir} has no files`);
  return { dir, files };
}

async function readAll(source: Source): Promise<{ name: string; data: Buffer }[]> {
  return Promise.all(source.files.map(async (name) => ({ name, data: await readFile(path.join(source.dir, name)) })));
}

/**
 * A CAB as Windows Mobile's CAB wizard makes one: each file stored under a short mangled name (`SCANNE~1.001`),
 * and a `_setup.xml` that extracts each to its place under the install directory and sets the registry values.
 */
function buildCab(cab: CabAuthoring, files: { name: string; data: Buffer }[]): Buffer {
  const stored = files.map((file, index) => {
    const base = path.posix.basename(file.name);
    const stem =
      base
        .replace(/\.[^.]*$/, '')
        .replace(/[^A-Za-z0-9]/g, '')
        .slice(0, 6)
        .toUpperCase() || 'FILE';
    return { ...file, base, cabName: `${stem}~1.${String(index + 1).padStart(3, '0')}` };
  });
  const directories = new Map<string, typeof stored>();
  for (const file of stored) {
    const sub = path.posix.dirname(file.name);
    const dir = sub === '.' ? cab.installDir : `${cab.installDir}\\${sub.replace(/\//g, '\\')}`;
    directories.set(dir, [...(directories.get(dir) ?? []), file]);
  }
  const characteristic = (type: string, characteristics: Characteristic[] = [], parms: Characteristic['parms'] = []): Characteristic => ({
    type,
    characteristics,
    parms,
  });
  const keys = new Map<string, Characteristic['parms']>();
  for (const value of cab.registry) {
    const datatype = typeof value.value === 'number' ? 'integer' : 'string';
    keys.set(value.key, [...(keys.get(value.key) ?? []), { name: value.name, value: String(value.value), datatype }]);
  }
  const setup = provisioningDocument.encode({
    characteristics: [
      characteristic(
        'Install',
        [],
        [
          { name: 'InstallPhase', value: 'install' },
          { name: 'AppName', value: cab.appName },
          { name: 'InstallDir', value: cab.installDir },
        ],
      ),
      characteristic(
        'FileOperation',
        [...directories].map(([dir, inDir]) =>
          characteristic(dir, [
            characteristic('MakeDir'),
            ...inDir.map((file) => characteristic(file.base, [characteristic('Extract', [], [{ name: 'Source', value: file.cabName }])])),
          ]),
        ),
      ),
      ...(keys.size > 0
        ? [
            characteristic(
              'Registry',
              [...keys].map(([key, parms]) => characteristic(key, [], parms)),
            ),
          ]
        : []),
    ],
  });
  return writeCabinet(
    [{ name: '_setup.xml', data: Buffer.from(setup, 'utf8') }, ...stored.map((f) => ({ name: f.cabName, data: f.data }))].map((f) => ({
      ...f,
      attributes: 0x20,
      modified: ARCHIVE_MTIME,
    })),
  );
}

/** A tar archive of files made here, written to a scratch directory first (tar archives directories). */
async function archiveOfFiles(packageId: string, version: number, files: { name: string; data: Buffer }[]): Promise<PackageContent> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mlc-sim-package-'));
  try {
    for (const file of files) {
      await mkdir(path.dirname(path.join(dir, file.name)), { recursive: true });
      await writeFile(path.join(dir, file.name), file.data);
    }
    return await archiveOf(
      packageId,
      version,
      dir,
      files.map((f) => f.name),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function archiveOf(packageId: string, version: number, dir: string, files: string[]): Promise<PackageContent> {
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ cwd: dir, portable: true, mtime: ARCHIVE_MTIME }, files)) chunks.push(chunk);
  const archive = Buffer.concat(chunks);
  return { packageId, version, archive, sha256: createHash('sha256').update(archive).digest('hex'), files };
}

/**
 * Builds a configuration package's content: one provisioning document (`wap-provisioningdoc`) per configuration
 * item, named `<item id>.xml`, in a tar archive like any other package.
 */
export async function buildConfigurationContent(pkg: ConfigurationPackage, items: ConfigurationItem[]): Promise<PackageContent> {
  return archiveOfFiles(
    pkg.id,
    pkg.version,
    items.map((item) => ({ name: configurationItemFile(item.id), data: Buffer.from(provisioningDocument.encode(provisioningOf(item.settings))) })),
  );
}
