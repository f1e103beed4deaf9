import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { create as createTar } from 'tar';
import type { PackageContent, SoftwarePackage } from '../domain/package.js';

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
  if (sourceDir !== root && !sourceDir.startsWith(`${root}${path.sep}`)) throw new Error(`package ${pkg.id}: source "${pkg.source}" is outside the content root`);
  let files: string[];
  try {
    files = await listFiles(sourceDir);
  } catch (error) {
    throw new Error(`package ${pkg.id}: source directory ${sourceDir} cannot be read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
  if (files.length === 0) throw new Error(`package ${pkg.id}: source directory ${sourceDir} has no files`);
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ cwd: sourceDir, portable: true, mtime: ARCHIVE_MTIME }, files)) chunks.push(chunk as Buffer);
  const archive = Buffer.concat(chunks);
  return { packageId: pkg.id, version: pkg.version, archive, sha256: createHash('sha256').update(archive).digest('hex'), files };
}
