import { z } from 'zod';
import { parseDuration } from './dm-time.js';

/**
 * Site control component "Device Client", and the report settings a poll response carries. ConfigMgr writes
 * intervals as `0000-00-00 HH:MM:SS`; site files use that format, memory holds milliseconds.
 */
const intervalSchema = z.string().refine(
  (text) => {
    try {
      return parseDuration(text) > 0;
    } catch {
      return false;
    }
  },
  { message: 'must be a positive interval in the form 0000-00-DD HH:MM:SS' },
);

/** One software-inventory or file-collection search: a name pattern (`*` wildcards) under a directory. */
const fileFilterSchema = z.strictObject({
  filter: z.string().min(1),
  path: z.string().min(1),
  recursive: z.boolean().default(true),
  excludeCompressed: z.boolean().default(false),
  excludeEncrypted: z.boolean().default(false),
});

/** A report's settings, each field defaulting to the given value. */
const reportSettingsSchema = (enabled: boolean, interval: string, filters: z.input<typeof fileFilterSchema>[] = []) => {
  const fileFilters = filters.map((f) => fileFilterSchema.parse(f));
  return z
    .strictObject({
      enabled: z.boolean().default(enabled),
      interval: intervalSchema.default(interval),
      fileFilters: z.array(fileFilterSchema).default(fileFilters),
    })
    .default({ enabled, interval, fileFilters });
};

export const clientSettingsSchema = z.strictObject({
  pollInterval: intervalSchema.default('0000-00-00 01:00:00'),
  failureRetryCount: z.number().int().min(0).max(100).default(5),
  failureRetryInterval: intervalSchema.default('0000-00-00 00:03:00'),
  /** Off: every device is told that no package applies to it. */
  enableSoftwareDistribution: z.boolean().default(true),
  // Hardware inventory searches no files.
  machineInventory: z
    .strictObject({ enabled: z.boolean().default(true), interval: intervalSchema.default('0000-00-01 00:00:00') })
    .default({ enabled: true, interval: '0000-00-01 00:00:00' }),
  softwareInventory: reportSettingsSchema(true, '0000-00-01 00:00:00', [{ filter: '*.exe', path: '\\Program Files' }]),
  fileCollection: reportSettingsSchema(false, '0000-00-07 00:00:00'),
});

export type ClientSettingsDefinition = z.infer<typeof clientSettingsSchema>;

export interface FileFilter {
  filter: string;
  path: string;
  recursive: boolean;
  excludeCompressed: boolean;
  excludeEncrypted: boolean;
}

/** Whether a report is wanted, how often, and (inventory, file collection) which files. */
export interface ReportSettings {
  enabled: boolean;
  intervalMs: number;
  fileFilters: FileFilter[];
}

/** What a poll response sets on the device. */
export interface ClientSettings {
  /** The management server's name; recorded, not followed (a bare host name cannot carry a load test's port). */
  pollServer: string;
  pollIntervalMs: number;
  failureRetryCount: number;
  failureRetryIntervalMs: number;
}

export interface DeviceSettings {
  client: ClientSettings;
  softwareInventory: ReportSettings;
  fileCollection: ReportSettings;
  machineInventory: ReportSettings;
}

const OFF: ReportSettings = { enabled: false, intervalMs: 24 * 60 * 60 * 1000, fileFilters: [] };

/** Before its first poll response a device has the documented Windows CE client defaults, and sends no reports. */
export const DEFAULT_DEVICE_SETTINGS: DeviceSettings = {
  client: { pollServer: '', pollIntervalMs: 60 * 60 * 1000, failureRetryCount: 5, failureRetryIntervalMs: 3 * 60 * 1000 },
  softwareInventory: OFF,
  fileCollection: OFF,
  machineInventory: OFF,
};

/** The site's settings: what every poll response carries, and whether software distribution is on. */
export interface SiteClientSettings extends DeviceSettings {
  enableSoftwareDistribution: boolean;
}

export function toClientSettings(definition: ClientSettingsDefinition, pollServer: string): SiteClientSettings {
  const report = (r: { enabled: boolean; interval: string; fileFilters?: FileFilter[] }): ReportSettings => ({
    enabled: r.enabled,
    intervalMs: parseDuration(r.interval),
    fileFilters: r.fileFilters ?? [],
  });
  return {
    client: {
      pollServer,
      pollIntervalMs: parseDuration(definition.pollInterval),
      failureRetryCount: definition.failureRetryCount,
      failureRetryIntervalMs: parseDuration(definition.failureRetryInterval),
    },
    softwareInventory: report(definition.softwareInventory),
    fileCollection: report(definition.fileCollection),
    machineInventory: report(definition.machineInventory),
    enableSoftwareDistribution: definition.enableSoftwareDistribution,
  };
}
