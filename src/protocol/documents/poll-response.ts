/** Poll response (reference §4.2): client settings, which reports to send and how often, and the packages that apply. */
import { z } from 'zod';
import { DECLARATION, boolean, decodeDocument, el, many, one, optional, text, textEl, attributes } from '../xml.js';
import { durationText, formatDuration } from '../wire.js';

const fileFilter = z
  .object({
    Filter: optional(text()),
    Path: optional(text()),
    Recursive: optional(text(boolean)),
    ExcludeCompressed: optional(text(boolean)),
    ExcludeEncrypted: optional(text(boolean)),
  })
  .transform((f) => ({
    filter: f.Filter ?? '',
    path: f.Path ?? '',
    recursive: f.Recursive ?? false,
    excludeCompressed: f.ExcludeCompressed ?? false,
    excludeEncrypted: f.ExcludeEncrypted ?? false,
  }));

const reportSettings = z
  .object({ Enabled: one(text(boolean)), Interval: one(text(durationText)), FileFilterItem: many(fileFilter) })
  .transform((s) => ({ enabled: s.Enabled, intervalMs: s.Interval, fileFilters: s.FileFilterItem }));

const schema = z
  .object({
    Settings: optional(
      z.object({
        ClientSettings: optional(
          z.object({
            PollServer: optional(text()),
            PollInterval: one(text(durationText)),
            FailureRetryCount: one(text(z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number))),
            FailureRetryInterval: one(text(durationText)),
          }),
        ),
        SoftwareInventorySettings: optional(reportSettings),
        FileCollectionSettings: optional(reportSettings),
        MachineInventorySettings: optional(reportSettings),
      }),
    ),
    ApplicablePackages: optional(z.object({ Package: many(attributes({ ID: z.string().min(1, 'must not be empty') })) })),
  })
  .transform(({ Settings: settings, ApplicablePackages: packages }) => {
    const client = settings?.ClientSettings;
    return {
      // A group the server leaves out keeps its previous value on the device (null here).
      client: client
        ? {
            pollServer: client.PollServer ?? '',
            pollIntervalMs: client.PollInterval,
            failureRetryCount: client.FailureRetryCount,
            failureRetryIntervalMs: client.FailureRetryInterval,
          }
        : null,
      softwareInventory: settings?.SoftwareInventorySettings ?? null,
      fileCollection: settings?.FileCollectionSettings ?? null,
      machineInventory: settings?.MachineInventorySettings ?? null,
      packages: (packages?.Package ?? []).map((p) => p.ID),
    };
  });

export type PollResponse = z.output<typeof schema>;
export type ReportSettings = z.output<typeof reportSettings>;
export type FileFilter = z.output<typeof fileFilter>;
export type DeviceClientSettings = NonNullable<PollResponse['client']>;

const flag = (value: boolean) => String(value);

function writeReportSettings(name: string, settings: ReportSettings | null): string | null {
  if (!settings) return null;
  return el(
    name,
    { version: '1.0' },
    textEl('Enabled', flag(settings.enabled)),
    textEl('Interval', formatDuration(settings.intervalMs)),
    ...settings.fileFilters.map((f) =>
      el(
        'FileFilterItem',
        null,
        textEl('Filter', f.filter),
        textEl('Path', f.path),
        textEl('Recursive', flag(f.recursive)),
        textEl('ExcludeCompressed', flag(f.excludeCompressed)),
        textEl('ExcludeEncrypted', flag(f.excludeEncrypted)),
      ),
    ),
  );
}

export const pollResponse = {
  encode: (doc: PollResponse): string =>
    DECLARATION +
    el(
      'PollResponse',
      null,
      el(
        'Settings',
        null,
        doc.client &&
          el(
            'ClientSettings',
            { version: '1.0' },
            textEl('PollServer', doc.client.pollServer),
            textEl('PollInterval', formatDuration(doc.client.pollIntervalMs)),
            textEl('FailureRetryCount', doc.client.failureRetryCount),
            textEl('FailureRetryInterval', formatDuration(doc.client.failureRetryIntervalMs)),
          ),
        writeReportSettings('SoftwareInventorySettings', doc.softwareInventory),
        writeReportSettings('FileCollectionSettings', doc.fileCollection),
        // Hardware inventory has no file filters.
        writeReportSettings('MachineInventorySettings', doc.machineInventory && { ...doc.machineInventory, fileFilters: [] }),
      ),
      // Always present, even empty: the device removes packages that are not listed.
      `<ApplicablePackages>${doc.packages.map((id) => el('Package', { ID: id })).join('')}</ApplicablePackages>`,
    ),
  decode: (xml: unknown): PollResponse => decodeDocument('PollResponse', xml, schema),
};
