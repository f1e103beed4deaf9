/** Poll request (reference §4.1): who the device is, sent with every poll. */
import { z } from 'zod';
import { DECLARATION, decodeDocument, el, many, one, optional, text, textEl } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

const value = text();

const schema = z
  .object({
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
  })
  .transform(({ ManagementSystem: system, Identification: id, Connection: connection }) => ({
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
  }));

export type DevicePoll = z.output<typeof schema>;
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
  decode: (xml: unknown): DevicePoll => decodeDocument('DevicePoll', xml, schema),
};
