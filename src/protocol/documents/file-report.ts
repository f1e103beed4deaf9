/**
 * Software inventory report (reference §10.1, `X-Device-ReportType: SoftwareInventory`): the files the poll
 * response's filters select, as a tree under one root `Directory` with fully qualified names.
 */
import { z } from 'zod';
import { decodeDocument, el, integer, many, one } from '../xml.js';
import { dateText, formatDate } from '../wire.js';

export interface ReportedFile {
  name: string;
  size: number;
  version?: string;
  company?: string;
  description?: string;
  created?: number;
  lastModified?: number;
  attributes?: string;
}

export interface ReportedDirectory {
  /** A fully qualified path, e.g. `\Program Files\Scanner`. */
  name: string;
  created?: number;
  attributes?: string;
  directories: ReportedDirectory[];
  files: ReportedFile[];
}

const file = z
  .object({
    $: z.object({
      Name: z.string().min(1, 'must not be empty'),
      Size: integer,
      Version: z.string().optional(),
      Company: z.string().optional(),
      Description: z.string().optional(),
      Created: dateText.optional(),
      LastModified: dateText.optional(),
      Attributes: z.string().optional(),
    }),
  })
  .transform(({ $: f }): ReportedFile => ({
    name: f.Name,
    size: f.Size,
    version: f.Version,
    company: f.Company,
    description: f.Description,
    created: f.Created,
    lastModified: f.LastModified,
    attributes: f.Attributes,
  }));

const directory: z.ZodType<ReportedDirectory> = z.lazy(() =>
  z
    .object({
      $: z.object({ Name: z.string().min(1, 'must not be empty'), Created: dateText.optional(), Attributes: z.string().optional() }),
      Directory: many(directory),
      File: many(file),
    })
    .transform((d) => ({ name: d.$.Name, created: d.$.Created, attributes: d.$.Attributes, directories: d.Directory, files: d.File })),
);

const schema = z.object({ Directory: one(directory) }).transform((d) => ({ root: d.Directory }));

export type FileReport = z.output<typeof schema>;

const date = (ms: number | undefined) => (ms === undefined ? undefined : formatDate(ms));

function writeDirectory(d: ReportedDirectory): string {
  return el(
    'Directory',
    { Name: d.name, Created: date(d.created), Attributes: d.attributes ?? '' },
    ...d.directories.map(writeDirectory),
    ...d.files.map((f) =>
      el('File', {
        Name: f.name,
        Version: f.version,
        Company: f.company,
        Description: f.description,
        Size: f.size,
        Created: date(f.created),
        LastModified: date(f.lastModified),
        Attributes: f.attributes,
      }),
    ),
  );
}

export const fileReport = {
  encode: (doc: FileReport): string => el('FileReport', null, writeDirectory(doc.root)),
  decode: (xml: unknown): FileReport => decodeDocument('FileReport', xml, schema),
};

/** Every file of a report with its full path, e.g. `\Program Files\Scanner\scanner.exe`. */
export function reportedFiles(doc: FileReport): { path: string; file: ReportedFile }[] {
  const out: { path: string; file: ReportedFile }[] = [];
  const walk = (d: ReportedDirectory) => {
    for (const f of d.files) out.push({ path: `${d.name.replace(/\\$/, '')}\\${f.name}`, file: f });
    d.directories.forEach(walk);
  };
  walk(doc.root);
  return out;
}
