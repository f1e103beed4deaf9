import { z } from 'zod';
import { advertisementSchema } from './advertisement.js';
import { clientSettingsSchema } from './client-settings.js';
import { collectionSchema } from './collection.js';
import { configurationItemSchema } from './configuration-item.js';
import { packageSchema } from './package.js';
import { programSchema } from './program.js';

/** A whole site as a site file describes it: settings and the objects an administrator would create. */
export const siteSchema = z.strictObject({
  siteCode: z
    .string()
    .regex(/^[A-Z0-9]{3}$/, 'must be three letters or digits')
    .default('MLC'),
  clientSettings: clientSettingsSchema.default(clientSettingsSchema.parse({})),
  /** Directory the packages' `source` paths are relative to; relative to the site file itself. */
  contentRoot: z.string().default('packages'),
  packages: z.array(packageSchema).default([]),
  programs: z.array(programSchema).default([]),
  configurationItems: z.array(configurationItemSchema).default([]),
  collections: z.array(collectionSchema).default([]),
  advertisements: z.array(advertisementSchema).default([]),
});

export type SiteDefinition = z.infer<typeof siteSchema>;
