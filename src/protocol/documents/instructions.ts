/**
 * Instruction response (reference §5.2): what one package is and what to do with it. The package id is an `<ID>`
 * element here, not an attribute. What the documents give no element for (the advertisement behind the package,
 * its expiry, the content hash, the program's platforms and exit codes, configuration items) rides in one optional
 * `Extension` element in mlc-sim's own namespace, last in `Package`, which a documented client ignores.
 */
import { z } from 'zod';
import { DECLARATION, attributes, boolean, decodeDocument, el, integer, many, one, optional, text, textEl, yesNo } from '../xml.js';
import { CONNECTION_FLAGS } from '../../domain/eligibility.js';
import { DM_NAMESPACE, EXTENSION_NAMESPACE, dateText, durationText, flagsText, formatDate, formatDuration, formatFlags } from '../wire.js';

const BEHAVIORS = ['Download and Execute', 'Execute Only'] as const;
const hex = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, 'must be 0x hex')
  .transform(Number);

const extension = z
  .object({
    Advertisement: one(attributes({ ID: z.string().min(1), Name: z.string(), Revision: integer, ExpirationTime: dateText.optional() })),
    Content: one(
      attributes({
        PackageID: z.string().min(1),
        Version: integer,
        PackageType: integer,
        SHA256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest'),
      }),
    ),
    Program: optional(
      z.object({
        $: z.object({ Name: z.string(), Flags: hex, MaxRunTimeMinutes: integer }),
        Platform: many(text()),
        SuccessExitCode: many(text(integer)),
      }),
    ),
    ConfigurationItem: many(
      z.object({ $: z.object({ ID: z.string().min(1), Name: z.string(), Remediate: boolean, File: z.string().min(1) }), Platform: many(text()) }),
    ),
  })
  .transform((x) => ({
    advertisement: {
      id: x.Advertisement.ID,
      name: x.Advertisement.Name,
      revision: x.Advertisement.Revision,
      expiresAt: x.Advertisement.ExpirationTime ?? null,
    },
    content: { packageId: x.Content.PackageID, version: x.Content.Version, packageType: x.Content.PackageType, sha256: x.Content.SHA256 },
    program: x.Program && {
      name: x.Program.$.Name,
      flags: x.Program.$.Flags,
      maxRunTimeMinutes: x.Program.$.MaxRunTimeMinutes,
      platforms: x.Program.Platform,
      successExitCodes: x.Program.SuccessExitCode,
    },
    configurationItems: x.ConfigurationItem.map((item) => ({
      id: item.$.ID,
      name: item.$.Name,
      remediate: item.$.Remediate,
      file: item.$.File,
      platforms: item.Platform,
    })),
  }));

const recurrence = z.object({
  Interval: one(text(durationText)),
  Behavior: one(text(z.enum(BEHAVIORS, { error: `must be one of: ${BEHAVIORS.join(', ')}` }))),
  // Some documentation pages place these two inside Recurrence; the package level is where we write them.
  LocalDestination: optional(text()),
  CommandLine: optional(text()),
});

const schema = z
  .object({
    Package: one(
      z.object({
        ID: one(text(z.string().min(1, 'must not be empty'))),
        Required: optional(text(yesNo)),
        Name: optional(text()),
        ShortDescription: optional(text()),
        LongDescription: optional(text()),
        PackageSize: one(text(integer.pipe(z.number().min(0, 'must not be negative')))),
        Flags: optional(text(flagsText)),
        StartTime: optional(z.object({ $: z.object({ UTC: boolean.optional() }), '#': dateText })),
        Recurrence: optional(recurrence),
        LocalDestination: optional(text()),
        CommandLine: optional(text()),
        SourceFiles: optional(text(yesNo)),
        Extension: optional(extension),
      }),
    ),
  })
  .transform(({ Package: p }) => ({
    id: p.ID,
    required: p.Required ?? true,
    name: p.Name ?? '',
    shortDescription: p.ShortDescription ?? '',
    longDescription: p.LongDescription ?? '',
    packageSize: p.PackageSize,
    /** Connection classes the download may use; any class when the server sets none. */
    flags: p.Flags ?? CONNECTION_FLAGS.lowBandwidth | CONNECTION_FLAGS.highBandwidth | CONNECTION_FLAGS.passThrough,
    /** Local device time and UTC are the same clock in a simulation. */
    startTime: p.StartTime?.['#'] ?? null,
    recurrence: p.Recurrence && { intervalMs: p.Recurrence.Interval, behavior: p.Recurrence.Behavior },
    localDestination: p.LocalDestination ?? p.Recurrence?.LocalDestination ?? '',
    commandLine: p.CommandLine ?? p.Recurrence?.CommandLine ?? '',
    sourceFiles: p.SourceFiles,
    extension: p.Extension,
  }));

export type Instructions = z.output<typeof schema>;
export type InstructionsExtension = NonNullable<Instructions['extension']>;

const yes = (value: boolean) => (value ? 'Yes' : 'No');

function writeExtension(x: InstructionsExtension): string {
  const a = x.advertisement;
  return el(
    'Extension',
    { xmlns: EXTENSION_NAMESPACE },
    el('Advertisement', { ID: a.id, Name: a.name, Revision: a.revision, ExpirationTime: a.expiresAt === null ? undefined : formatDate(a.expiresAt) }),
    el('Content', { PackageID: x.content.packageId, Version: x.content.version, PackageType: x.content.packageType, SHA256: x.content.sha256 }),
    x.program &&
      el(
        'Program',
        { Name: x.program.name, Flags: `0x${x.program.flags.toString(16).padStart(8, '0')}`, MaxRunTimeMinutes: x.program.maxRunTimeMinutes },
        ...x.program.platforms.map((p) => textEl('Platform', p)),
        ...x.program.successExitCodes.map((code) => textEl('SuccessExitCode', code)),
      ),
    ...x.configurationItems.map((item) =>
      el(
        'ConfigurationItem',
        { ID: item.id, Name: item.name, Remediate: String(item.remediate), File: item.file },
        ...item.platforms.map((p) => textEl('Platform', p)),
      ),
    ),
  );
}

export const instructions = {
  encode: (p: Instructions): string =>
    DECLARATION +
    el(
      'Instructions',
      { xmlns: DM_NAMESPACE },
      el(
        'Package',
        null,
        textEl('ID', p.id),
        textEl('Required', yes(p.required)),
        textEl('Name', p.name),
        textEl('ShortDescription', p.shortDescription),
        textEl('LongDescription', p.longDescription),
        textEl('PackageSize', p.packageSize),
        textEl('Flags', formatFlags(p.flags)),
        p.startTime !== null && el('StartTime', { UTC: 'true' }, formatDate(p.startTime)),
        p.recurrence && el('Recurrence', null, textEl('Interval', formatDuration(p.recurrence.intervalMs)), textEl('Behavior', p.recurrence.behavior)),
        textEl('LocalDestination', p.localDestination),
        textEl('CommandLine', p.commandLine),
        p.sourceFiles !== null && textEl('SourceFiles', yes(p.sourceFiles)),
        p.extension && writeExtension(p.extension),
      ),
    ),
  decode: (xml: unknown): Instructions => decodeDocument('Instructions', xml, schema),
};
