import type { DeviceProfile } from '../src/agent/device-profile.js';
import { fleetMixSchema } from '../simulator/fleet-mix.js';

/** The poll benchmarks' fleet: one platform, one storage size, one link, so every poll is the same work. */
export const POLL_MIX = fleetMixSchema.parse({
  platforms: [{ platform: 'Windows Mobile 6.5', osVersion: '5.2.21234', weight: 1 }],
  storage: [{ minMB: 64, maxMB: 64, weight: 1 }],
  connectivity: [{ kind: 'wlan', bandwidthKBps: 250, weight: 1 }],
});

/**
 * Profiles as devices new to a site that has met their ids already: each id and name starts with `prefix`. A device
 * the site knows must present its token (401 otherwise), and a bench's fresh fleet has none.
 */
export function newToTheSite(profiles: DeviceProfile[], prefix: string): DeviceProfile[] {
  return profiles.map((profile) => ({ ...profile, id: `${prefix}-${profile.id}`, name: `${prefix}-${profile.name}` }));
}
