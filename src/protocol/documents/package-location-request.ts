/** Package location request (reference §6.1): where the device is, so the server can pick a source near it. */
import { z } from 'zod';
import { DECLARATION, attributes, decodeDocument, el, many, one, optional, quick, text, textEl, type XmlNode } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

const shape = z.object({
  PackageID: one(text(z.string().min(1, 'must not be empty'))),
  ClientLocation: optional(
    z.object({
      DirectoryService: optional(z.object({ Name: optional(text()) })),
      IPAddresses: optional(z.object({ IPAddress: many(attributes({ address: z.string(), subnet: z.string().optional() })) })),
    }),
  ),
});

const toRequest = ({ PackageID: packageId, ClientLocation: location }: z.output<typeof shape>) => ({
  packageId,
  clientLocation: {
    directoryService: location?.DirectoryService?.Name ?? '',
    ipAddresses: (location?.IPAddresses?.IPAddress ?? []).map((a) => ({ address: a.address, subnet: a.subnet ?? '' })),
  },
});

/** The document's schema: what decides a request the quick reader does not take, and what that reader must agree with. */
export const packageLocationRequestSchema = shape.transform(toRequest);

/** What the schema reads, read by the quick helpers: one request per download. */
function readQuickly(request: XmlNode): PackageLocationRequest {
  const location = quick.optional(request.ClientLocation);
  const directory = location && quick.optional(location.DirectoryService);
  const addresses = location && quick.optional(location.IPAddresses);
  return toRequest({
    PackageID: quick.nonEmptyText(request.PackageID),
    ClientLocation: location && {
      DirectoryService: directory && { Name: quick.optionalText(directory.Name) },
      IPAddresses: addresses && {
        IPAddress: quick.many(addresses.IPAddress).map(({ $: a }) => ({ address: quick.attribute(a.address), subnet: a.subnet })),
      },
    },
  });
}

export type PackageLocationRequest = ReturnType<typeof toRequest>;

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
  decode: (xml: unknown): PackageLocationRequest => decodeDocument('PackageLocationRequest', xml, packageLocationRequestSchema, readQuickly),
};
