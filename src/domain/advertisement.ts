import { z } from 'zod';
import { packageIdSchema } from './package.js';

/** `SMS_Advertisement.DeviceFlags` (same bits as `SMS_Program.DeviceFlags`). */
export const DEVICE_FLAGS = {
  always: 0x01000000,
  highBandwidth: 0x02000000,
  docked: 0x04000000,
} as const;

/**
 * ConfigMgr's rerun behaviour of an advertisement (`SMS_Advertisement.RemoteClientFlags` RERUN_*): whether a device
 * that already ran the program runs a new version of it. `ifFailed` ("Rerun if failed previous attempt") is
 * ConfigMgr's default for a mandatory assignment, and ours.
 */
export const RERUN_BEHAVIOURS = ['never', 'always', 'ifFailed', 'ifSucceeded'] as const;
export type RerunBehaviour = (typeof RERUN_BEHAVIOURS)[number];

/** High-bandwidth threshold documented for device assignment: above 60 KBps. */
export const HIGH_BANDWIDTH_KBPS = 60;

export const advertisementSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Z0-9]{3}[0-9A-F]{5}$/, 'must be a site code and 5 hex digits, e.g. MLC20001'),
    name: z.string().min(1),
    collectionId: z.string().min(1),
    packageId: packageIdSchema,
    /** Absent for a configuration package, required for a software package. */
    programName: z.string().min(1).optional(),
    availableAt: z.iso.datetime().default('2000-01-01T00:00:00Z'),
    expiresAt: z.iso.datetime().optional(),
    mandatory: z.boolean().default(true),
    assignment: z.enum(['always', 'highBandwidth', 'docked']).default('always'),
    /** Whether a device that ran this program before (a previous revision, or another advertisement of it) runs it again. */
    rerun: z.enum(RERUN_BEHAVIOURS).default('ifFailed'),
  })
  .refine((a) => a.expiresAt === undefined || Date.parse(a.expiresAt) > Date.parse(a.availableAt), {
    message: 'expiresAt must be after availableAt',
    path: ['expiresAt'],
  });

export type Advertisement = z.infer<typeof advertisementSchema>;
