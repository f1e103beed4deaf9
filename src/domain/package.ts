import { z } from 'zod';

/** ConfigMgr package ids are a three-letter site code plus five hex digits, e.g. MLC00001. */
export const packageIdSchema = z.string().regex(/^[A-Z0-9]{3}[0-9A-F]{5}$/, 'must be a site code and 5 hex digits, e.g. MLC00001');

/** `PackageType` 6 is a device setting (configuration) package; 0 is a regular software package. */
export const PACKAGE_TYPE = { software: 0, configuration: 6 } as const;

const packageBase = {
  id: packageIdSchema,
  name: z.string().min(1),
  version: z.number().int().min(1).default(1),
};

const fileName = z
  .string()
  .min(1)
  .regex(/^[^\\/:*?"<>|]+$/, 'must be a file name, without a directory');

/**
 * A CAB the site builds from the source directory's files: a Microsoft Cabinet with a `_setup.xml` that installs
 * them to `installDir` (CE folder macros such as `%CE1%`, Program Files, allowed) and sets `registry` values; the
 * package holds the CAB alone, for a `wceload` command line.
 */
export const cabAuthoringSchema = z.strictObject({
  name: fileName.refine((n) => n.toLowerCase().endsWith('.cab'), 'must end in .cab'),
  appName: z.string().min(1),
  installDir: z.string().min(1).default('%CE1%'),
  registry: z.array(z.strictObject({ key: z.string().min(1), name: z.string().min(1), value: z.union([z.string(), z.number().int()]) })).default([]),
});

/** A device-management script the site writes into the package next to the source's files, for a `.dms` command line. */
export const scriptAuthoringSchema = z.strictObject({
  name: fileName.refine((n) => n.toLowerCase().endsWith('.dms'), 'must end in .dms'),
  text: z.string().min(1),
});

/**
 * Software package: its content is a directory of real files (`source`), served by the distribution point as a tar
 * archive; or those files built into a CAB (`cab`); and/or a script written into it (`script`).
 */
export const softwarePackageSchema = z
  .strictObject({
    ...packageBase,
    type: z.literal('software').default('software'),
    source: z.string().min(1).optional().describe('directory of the package files, relative to the site content root'),
    cab: cabAuthoringSchema.optional(),
    script: scriptAuthoringSchema.optional(),
  })
  .refine((p) => p.source !== undefined || p.script !== undefined, { message: 'needs a source directory, a script, or both', path: ['source'] })
  .refine((p) => p.cab === undefined || p.source !== undefined, { message: 'a CAB is built from the files of a source directory', path: ['source'] });

/** Configuration package: mobile-only, holds configuration items; its content is one provisioning document per item. */
export const configurationPackageSchema = z.strictObject({
  ...packageBase,
  type: z.literal('configuration'),
  configurationItems: z.array(z.string().min(1)).min(1),
});

export const packageSchema = z.discriminatedUnion('type', [softwarePackageSchema, configurationPackageSchema]);

export type SoftwarePackage = z.infer<typeof softwarePackageSchema>;
export type CabAuthoring = z.infer<typeof cabAuthoringSchema>;
export type ConfigurationPackage = z.infer<typeof configurationPackageSchema>;
export type Package = z.infer<typeof packageSchema>;

/** What the distribution point knows of a package once its archive is built. */
export interface PackageContent {
  packageId: string;
  version: number;
  archive: Buffer;
  sha256: string;
  files: string[];
}
