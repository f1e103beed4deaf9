/** Poll request (reference §4.1): who the device is, sent with every poll. */
import { z } from 'zod';
import { DECLARATION, decodeDocument, el, many, one, optional, quick, text, textEl, type XmlNode } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

const value = text();

const shape = z.object({
  ManagementSystem: one(z.object({ Name: one(value), Version: one(value) })),
  Identification: one(
    z.object({
      ID: one(text(z.string().min(1, 'must not be empty'))),
      DeviceName: one(value),
      UserName: optional(value),
      // Real devices fold the domain into UserName and send no MAC: both optional.
      Domain: optional(value),
      Platform: one(value),
      Processor: optional(value),
      NetworkAdapter: many(z.object({ IPAddress: optional(value), IPSubnet: optional(value), MAC: optional(value) })),
      CodePage: optional(value),
      // The element tables spell it codePage; the element page and real devices, CodePage.
      codePage: optional(value),
      SystemDefaultLCID: optional(value),
    }),
  ),
  Connection: optional(z.object({ AuthorizationToken: optional(value), Timestamp: optional(value) })),
});

/** The poll as the decoders give it, from what the schema (or the quick reader) read. */
const toPoll = ({ ManagementSystem: system, Identification: id, Connection: connection }: z.output<typeof shape>) => ({
  managementSystem: { name: system.Name, version: system.Version },
  identification: {
    id: id.ID,
    deviceName: id.DeviceName,
    userName: id.UserName ?? '',
    domain: id.Domain,
    platform: id.Platform,
    processor: id.Processor ?? '',
    networkAdapters: id.NetworkAdapter.map((a) => ({ ipAddress: a.IPAddress ?? '', ipSubnet: a.IPSubnet ?? '', mac: a.MAC })),
    codePage: id.CodePage ?? id.codePage ?? '',
    systemDefaultLcid: id.SystemDefaultLCID ?? '',
  },
  connection: { authorizationToken: connection?.AuthorizationToken ?? '', timestamp: connection?.Timestamp ?? '' },
});

/** The poll's schema: what decides a poll the quick reader does not take, and what that reader must agree with. */
export const devicePollSchema = shape.transform(toPoll);

/** What the schema reads, read by the quick helpers: every poll of every device comes through here. */
function readQuickly(poll: XmlNode): DevicePoll {
  const system = quick.one(poll.ManagementSystem);
  const id = quick.one(poll.Identification);
  const connection = quick.optional(poll.Connection);
  return toPoll({
    ManagementSystem: { Name: quick.text(system.Name), Version: quick.text(system.Version) },
    Identification: {
      ID: quick.nonEmptyText(id.ID),
      DeviceName: quick.text(id.DeviceName),
      UserName: quick.optionalText(id.UserName),
      Domain: quick.optionalText(id.Domain),
      Platform: quick.text(id.Platform),
      Processor: quick.optionalText(id.Processor),
      NetworkAdapter: quick.many(id.NetworkAdapter).map((a) => ({
        IPAddress: quick.optionalText(a.IPAddress),
        IPSubnet: quick.optionalText(a.IPSubnet),
        MAC: quick.optionalText(a.MAC),
      })),
      CodePage: quick.optionalText(id.CodePage),
      codePage: quick.optionalText(id.codePage),
      SystemDefaultLCID: quick.optionalText(id.SystemDefaultLCID),
    },
    Connection: connection && {
      AuthorizationToken: quick.optionalText(connection.AuthorizationToken),
      Timestamp: quick.optionalText(connection.Timestamp),
    },
  });
}

export type DevicePoll = ReturnType<typeof toPoll>;
export type Identification = DevicePoll['identification'];

export const devicePoll = {
  /** In the order real devices send: NetworkAdapter before CodePage, the domain inside UserName. */
  encode: ({ managementSystem: system, identification: id, connection }: DevicePoll): string =>
    DECLARATION +
    el(
      'DevicePoll',
      { xmlns: DM_NAMESPACE },
      el('ManagementSystem', null, textEl('Name', system.name), textEl('Version', system.version)),
      el(
        'Identification',
        null,
        textEl('ID', id.id),
        textEl('DeviceName', id.deviceName),
        textEl('UserName', id.userName),
        id.domain != null && textEl('Domain', id.domain),
        textEl('Platform', id.platform),
        textEl('Processor', id.processor),
        ...id.networkAdapters.map((a) =>
          el('NetworkAdapter', null, textEl('IPAddress', a.ipAddress), textEl('IPSubnet', a.ipSubnet), a.mac != null && textEl('MAC', a.mac)),
        ),
        textEl('CodePage', id.codePage),
        textEl('SystemDefaultLCID', id.systemDefaultLcid),
      ),
      el('Connection', null, textEl('AuthorizationToken', connection.authorizationToken), textEl('Timestamp', connection.timestamp)),
    ),
  decode: (xml: unknown): DevicePoll => decodeDocument('DevicePoll', xml, devicePollSchema, readQuickly),
};
