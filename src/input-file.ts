import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { siteSchema, type SiteDefinition } from './domain/site.js';
import { firstIssue } from './domain/validation.js';

/**
 * The files a user gives mlc-sim (site files, fleet mixes, scenarios): read as YAML or JSON and validated, every
 * failure naming the file, the field and the reason.
 */

/** A file that could not be used: which file, where in it, and why. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}: ${field || '(file)'}: ${reason}`);
    this.name = 'InputFileError';
  }
}

/** Reads a YAML or JSON file and validates it against `schema`; every failure is an InputFileError. */
export async function loadValidatedFile<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputFileError(file, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InputFileError(file, '', `is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const { field, reason } = firstIssue(result.error);
    throw new InputFileError(file, field, reason);
  }
  return result.data;
}

export interface LoadedSite {
  site: SiteDefinition;
  /** Absolute directory the site's package sources resolve against. */
  contentRoot: string;
}

export async function loadSiteFile(file: string): Promise<LoadedSite> {
  const site = await loadValidatedFile(file, siteSchema);
  return { site, contentRoot: path.resolve(path.dirname(file), site.contentRoot) };
}
