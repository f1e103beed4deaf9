import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create as createTar } from 'tar';
import { configurationItemFile, type ConfigurationItem } from '../domain/configuration-item.js';
import type { ConfigurationPackage, PackageContent, SoftwarePackage } from '../domain/package.js';
import { provisioningDocument, provisioningOf } from '../protocol/documents/provisioning.js';

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

/** Builds a package's content as a real, reproducible tar archive of its source directory. */
export async function buildPackageContent(pkg: SoftwarePackage, contentRoot: string): Promise<PackageContent> {
  const root = path.resolve(contentRoot);
  const sourceDir = path.resolve(root, pkg.source);
  // Content comes from under the content root only: a source of "../../etc" must not be served to devices.
  if (sourceDir !== root && !sourceDir.startsWith(`${root}${path.sep}`))
    throw new Error(`package ${pkg.id}: source "${pkg.source}" is outside the content root`);
  let files: string[];
  try {
    files = await listFiles(sourceDir);
  } catch (error) {
    throw new Error(`package ${pkg.id}: source directory ${sourceDir} cannot be read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  if (files.length === 0) throw new Error(`package ${pkg.id}: source directory ${sourceDir} has no files`);
  return archiveOf(pkg.id, pkg.version, sourceDir, files);
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
  const dir = await mkdtemp(path.join(tmpdir(), 'mlc-sim-config-'));
  try {
    for (const item of items) await writeFile(path.join(dir, configurationItemFile(item.id)), provisioningDocument.encode(provisioningOf(item.settings)));
    return await archiveOf(
      pkg.id,
      pkg.version,
      dir,
      items.map((item) => configurationItemFile(item.id)),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
