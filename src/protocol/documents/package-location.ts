/** Package location response (reference §6.2): the sources of a package, each with a metric (lower is preferred). */
import { z } from 'zod';
import { DECLARATION, decodeDocument, el, integer, many, one, optional, text, textEl } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

const location = z
  .object({
    $: z.object({ metric: integer.optional() }),
    SMB: optional(z.object({ SMBPath: one(text()) })),
    HTTP: optional(z.object({ URL: one(text(z.string().min(1, 'must not be empty'))) })),
    DirectoryService: optional(z.object({ Name: optional(text()) })),
    IPSubnets: optional(z.object({ Subnet: many(text()) })),
  })
  .transform((l) => ({
    metric: l.$.metric ?? 0,
    httpUrl: l.HTTP?.URL ?? null,
    smbPath: l.SMB?.SMBPath ?? null,
    directoryService: l.DirectoryService?.Name ?? null,
    subnets: l.IPSubnets?.Subnet ?? [],
  }));

const schema = z
  .object({ PackageID: one(text(z.string().min(1, 'must not be empty'))), Locations: one(z.object({ Location: many(location) })) })
  .transform((d) => ({ packageId: d.PackageID, locations: d.Locations.Location }));

export type PackageLocation = z.output<typeof schema>;
export type ContentLocation = PackageLocation['locations'][number];

export const packageLocation = {
  encode: (doc: PackageLocation): string =>
    DECLARATION +
    el(
      'PackageLocation',
      { xmlns: DM_NAMESPACE },
      textEl('PackageID', doc.packageId),
      el(
        'Locations',
        null,
        ...doc.locations.map((l) =>
          el(
            'Location',
            { metric: l.metric },
            l.smbPath !== null && el('SMB', null, textEl('SMBPath', l.smbPath)),
            l.httpUrl !== null && el('HTTP', null, textEl('URL', l.httpUrl)),
            l.directoryService !== null && el('DirectoryService', null, textEl('Name', l.directoryService)),
            l.subnets.length > 0 && el('IPSubnets', null, ...l.subnets.map((s) => textEl('Subnet', s))),
          ),
        ),
      ),
    ),
  decode: (xml: unknown): PackageLocation => decodeDocument('PackageLocation', xml, schema),
};
