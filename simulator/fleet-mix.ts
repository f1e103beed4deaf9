import { z } from 'zod';
import { DEFAULT_STORAGE_CARD, programBehaviourSchema, type DeviceProfile } from '../src/agent/device-profile.js';
import { platformSchema } from '../src/domain/platform.js';
import type { Random } from '../src/random.js';

const weight = z.number().positive();

/** What a fleet is made of: every device's profile is drawn from these weighted choices. */
export const fleetMixSchema = z.strictObject({
  platforms: z.array(z.strictObject({ platform: platformSchema, osVersion: z.string().min(1), weight })).min(1),
  storage: z
    .array(z.strictObject({ minMB: z.number().min(0), maxMB: z.number().min(0), weight }).refine((s) => s.maxMB >= s.minMB, 'maxMB must be at least minMB'))
    .min(1),
  /** Storage cards: size and the user's data on them; sizeMB 0 is no card. */
  storageCard: z
    .array(
      z.strictObject({ sizeMB: z.number().min(0), usedMB: z.number().min(0), weight }).refine((c) => c.usedMB <= c.sizeMB, 'usedMB must be at most sizeMB'),
    )
    .min(1)
    .default([{ sizeMB: DEFAULT_STORAGE_CARD.sizeBytes / 1024 / 1024, usedMB: DEFAULT_STORAGE_CARD.usedBytes / 1024 / 1024, weight: 1 }]),
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
  // Choices are built once; devices drawing the same connectivity share one frozen object (a fleet is large).
  const choices = <T extends { weight: number }, V>(from: T[], value: (choice: T) => V) => from.map((c) => ({ value: value(c), weight: c.weight }));
  const platforms = choices(mix.platforms, (p) => p);
  const storage = choices(mix.storage, (s) => s);
  const cards = choices(mix.storageCard, ({ sizeMB, usedMB }) =>
    Object.freeze({ sizeBytes: Math.round(sizeMB * 1024 * 1024), usedBytes: Math.round(usedMB * 1024 * 1024) }),
  );
  const connectivity = choices(mix.connectivity, ({ kind, bandwidthKBps }) => Object.freeze({ kind, bandwidthKBps }));
  const settings = mix.settings.map((setting) => ({ address: setting.address, values: choices(setting.values, (v) => v.value) }));
  return Array.from({ length: count }, (_, index) => {
    const platform = random.weighted(platforms);
    const { minMB, maxMB } = random.weighted(storage);
    const deviceConnectivity = random.weighted(connectivity);
    const deviceSettings: Record<string, string> = {};
    for (const setting of settings) {
      const value = random.weighted(setting.values);
      if (value !== null) deviceSettings[setting.address] = value;
    }
    return {
      id: `MLC-${String(index + 1).padStart(5, '0')}`,
      name: `handheld-${index + 1}`,
      platform: platform.platform,
      osVersion: platform.osVersion,
      freeStorageBytes: Math.round((minMB + random.next() * (maxMB - minMB)) * 1024 * 1024),
      // Drawn only when there is a choice, so a mix without one draws the same fleets as before cards existed.
      storageCard: cards.length === 1 && cards[0] ? cards[0].value : random.weighted(cards),
      connectivity: deviceConnectivity,
      programBehaviour: mix.programBehaviour,
      runsOptionalPrograms: random.next() < mix.runsOptionalPrograms,
      settings: deviceSettings,
    };
  });
}
