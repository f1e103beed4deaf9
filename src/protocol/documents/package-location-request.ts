/** Package location request (reference §6.1): where the device is, so the server can pick a source near it. */
import { z } from 'zod';
import { DECLARATION, attributes, decodeDocument, el, many, one, optional, text, textEl } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

const schema = z
  .object({
    PackageID: one(text(z.string().min(1, 'must not be empty'))),
    ClientLocation: optional(
      z.object({
        DirectoryService: optional(z.object({ Name: optional(text()) })),
        IPAddresses: optional(z.object({ IPAddress: many(attributes({ address: z.string(), subnet: z.string().optional() })) })),
      }),
    ),
  })
  .transform(({ PackageID: packageId, ClientLocation: location }) => ({
    packageId,
    clientLocation: {
      directoryService: location?.DirectoryService?.Name ?? '',
      ipAddresses: (location?.IPAddresses?.IPAddress ?? []).map((a) => ({ address: a.address, subnet: a.subnet ?? '' })),
    },
  }));

export type PackageLocationRequest = z.output<typeof schema>;

export const packageLocationRequest = {
  encode: ({ packageId, clientLocation: location }: PackageLocationRequest): string =>
    DECLARATION +
    el(
      'PackageLocationRequest',
      { xmlns: DM_NAMESPACE },
      textEl('PackageID', packageId),
      el(
        'ClientLocation',
        null,
        el('DirectoryService', null, textEl('Name', location.directoryService)),
        location.ipAddresses.length > 0 &&
          el('IPAddresses', null, ...location.ipAddresses.map((a) => el('IPAddress', { address: a.address, subnet: a.subnet }))),
      ),
    ),
  decode: (xml: unknown): PackageLocationRequest => decodeDocument('PackageLocationRequest', xml, schema),
};
