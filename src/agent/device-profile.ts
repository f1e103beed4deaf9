import { z } from 'zod';
import { platformSchema } from '../domain/platform.js';

/** How the programs this device runs behave: drawn per run from the device's seeded randomness. */
export const programBehaviourSchema = z.strictObject({
  exitCodes: z
    .array(z.strictObject({ code: z.number().int(), weight: z.number().positive() }))
    .min(1)
    .default([{ code: 0, weight: 1 }]),
  durationSeconds: z
    .strictObject({ min: z.number().min(0), max: z.number().min(0) })
    .refine((d) => d.max >= d.min, { message: 'max must be at least min' })
    .default({ min: 20, max: 120 }),
  /** How long a restart takes after a 3010-style exit code. */
  restartSeconds: z.number().min(0).default(90),
});

export const storageCardSchema = z.strictObject({ sizeBytes: z.number().int().min(0), usedBytes: z.number().int().min(0) });

/** A 256 MB card with 16 MB of the user's data on it. */
export const DEFAULT_STORAGE_CARD = Object.freeze({ sizeBytes: 256 * 1024 * 1024, usedBytes: 16 * 1024 * 1024 });

/** One simulated device: a handheld, or a desktop client of the same site when its platform is a desktop one. */
export const deviceProfileSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  platform: platformSchema,
  osVersion: z.string().min(1),
  /** Free space of the object store (`\`, where packages are saved) before any package arrived. */
  freeStorageBytes: z.number().int().min(0),
  /** The storage card (`\Storage Card`); size 0: the device has none. */
  storageCard: storageCardSchema.default(DEFAULT_STORAGE_CARD),
  connectivity: z.strictObject({
    kind: z.enum(['docked', 'wlan', 'cellular']),
    bandwidthKBps: z.number().positive(),
  }),
  programBehaviour: programBehaviourSchema.default(programBehaviourSchema.parse({})),
  /** Whether the device's user runs optional (not mandatory) advertisements. */
  runsOptionalPrograms: z.boolean().default(false),
  /** The device state configuration items read and remediate, keyed by setting address (see settingAddress). */
  settings: z.record(z.string(), z.string()).default({}),
});

export type ProgramBehaviour = z.infer<typeof programBehaviourSchema>;
export type DeviceProfile = z.infer<typeof deviceProfileSchema>;
