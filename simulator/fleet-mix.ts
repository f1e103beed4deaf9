import { z } from 'zod';
import { programBehaviourSchema, type DeviceProfile } from '../src/agent/device-profile.js';
import { mobilePlatformSchema } from '../src/domain/platform.js';
import type { Random } from '../src/random.js';

const weight = z.number().positive();

/** What a fleet is made of: every device's profile is drawn from these weighted choices. */
export const fleetMixSchema = z.strictObject({
  platforms: z.array(z.strictObject({ platform: mobilePlatformSchema, osVersion: z.string().min(1), weight })).min(1),
  storage: z
    .array(z.strictObject({ minMB: z.number().min(0), maxMB: z.number().min(0), weight }).refine((s) => s.maxMB >= s.minMB, 'maxMB must be at least minMB'))
    .min(1),
  connectivity: z.array(z.strictObject({ kind: z.enum(['docked', 'wlan', 'cellular']), bandwidthKBps: z.number().positive(), weight })).min(1),
  /** Program behaviour of the whole fleet; exit codes and durations are drawn per run. */
  programBehaviour: programBehaviourSchema.default(programBehaviourSchema.parse({})),
  /** Share (0-1) of devices whose user runs optional advertisements. */
  runsOptionalPrograms: z.number().min(0).max(1).default(0),
  /** Initial device settings, for configuration items to find compliant or drifted. */
  settings: z
    .array(z.strictObject({ address: z.string().min(1), values: z.array(z.strictObject({ value: z.string().nullable(), weight })).min(1) }))
    .default([]),
});

export type FleetMix = z.infer<typeof fleetMixSchema>;

/** Draws `count` device profiles; ids are stable (`MLC-00001`…) so a seed names the same devices every time. */
export function drawProfiles(mix: FleetMix, count: number, random: Random): DeviceProfile[] {
  const pick = <T extends { weight: number }>(choices: T[]) => random.weighted(choices.map((c) => ({ value: c, weight: c.weight })));
  return Array.from({ length: count }, (_, index) => {
    const id = `MLC-${String(index + 1).padStart(5, '0')}`;
    const platform = pick(mix.platforms);
    const storage = pick(mix.storage);
    const connectivity = pick(mix.connectivity);
    const settings: Record<string, string> = {};
    for (const setting of mix.settings) {
      const value = random.weighted(setting.values.map((v) => ({ value: v.value, weight: v.weight })));
      if (value !== null) settings[setting.address] = value;
    }
    return {
      id,
      name: `handheld-${index + 1}`,
      platform: platform.platform,
      osVersion: platform.osVersion,
      freeStorageBytes: Math.round((storage.minMB + random.next() * (storage.maxMB - storage.minMB)) * 1024 * 1024),
      connectivity: { kind: connectivity.kind, bandwidthKBps: connectivity.bandwidthKBps },
      programBehaviour: mix.programBehaviour,
      runsOptionalPrograms: random.next() < mix.runsOptionalPrograms,
      settings,
    };
  });
}
