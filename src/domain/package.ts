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

/** Software package: its content is a directory of real files, served by the distribution point as a tar archive. */
export const softwarePackageSchema = z.strictObject({
  ...packageBase,
  type: z.literal('software').default('software'),
  source: z.string().min(1).describe('directory of the package files, relative to the site content root'),
});

/** Configuration package: mobile-only, holds configuration items; its content is one provisioning document per item. */
export const configurationPackageSchema = z.strictObject({
  ...packageBase,
  type: z.literal('configuration'),
  configurationItems: z.array(z.string().min(1)).min(1),
});

export const packageSchema = z.discriminatedUnion('type', [softwarePackageSchema, configurationPackageSchema]);

export type SoftwarePackage = z.infer<typeof softwarePackageSchema>;
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
