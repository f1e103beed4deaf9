import { guidOf } from '../domain/guid.js';
import type { Identification } from '../protocol/documents/device-poll.js';
import type { DeviceProfile } from './device-profile.js';

/**
 * Who a simulated handheld says it is, filled from its profile the way a real device fills a DevicePoll: a
 * GUID-shaped ID (X-Device-UUID too), its name, `DOMAIN\user`, platform, processor, one network adapter (no MAC,
 * as real devices sent), code page and locale. Everything is derived from the profile id, so a seed names the same
 * devices every run. A device that knows its UUID (its credentials carry it) passes it: deriving it hashes the id.
 */
export function identificationOf(profile: DeviceProfile, uuid = deviceUuidOf(profile)): Identification {
  const networkAdapters = [Object.freeze({ ipAddress: ipAddressOfUuid(uuid), ipSubnet: '255.255.0.0', mac: null })];
  // Frozen, adapters too: a connection may keep the DevicePoll it encoded for it (see SiteConnection.poll).
  Object.freeze(networkAdapters);
  return Object.freeze({
    id: uuid,
    deviceName: profile.id,
    userName: `MLCSIM\\${profile.name}`,
    domain: null,
    platform: profile.platform,
    processor: String(PROCESSOR_ARM),
    networkAdapters,
    codePage: '1252',
    systemDefaultLcid: '1033',
  });
}

/** `PROCESSOR_STRONGARM` (2577): the processor type of Windows Mobile handhelds. */
export const PROCESSOR_ARM = 2577;

export function deviceUuidOf(profile: Pick<DeviceProfile, 'id'>): string {
  return guidOf(`device/${profile.id}`);
}

/**
 * A private address per device, stable for its id, from its UUID (which its credentials carry): deriving the UUID
 * hashes the id, once when the device starts, not at each request that names the address.
 */
export function ipAddressOfUuid(uuid: string): string {
  const [a = 0, b = 0] = Buffer.from(uuid.slice(0, 4), 'hex');
  return `10.20.${a}.${Math.max(1, b)}`;
}
