import { z } from 'zod';
import { packageIdSchema } from './package.js';
import { platformSchema } from './platform.js';

/** `SMS_Program.ProgramFlags` bit for a Windows CE (device) program: never offered to desktop clients. */
export const PROGRAM_FLAG_WINDOWS_CE = 0x00000100;

/** Exit codes ConfigMgr reads as "preliminary success, restart pending" (status 10022). */
export const RESTART_EXIT_CODES = [3010, 3011, 1641, 1604] as const;

export const programSchema = z.strictObject({
  packageId: packageIdSchema,
  name: z.string().min(1),
  commandLine: z.string().min(1),
  /** `device` programs carry the WINDOWS_CE flag; `desktop` programs must never run on a handheld. */
  kind: z.enum(['device', 'desktop']).default('device'),
  platforms: z.array(platformSchema).min(1),
  maxRunTimeMinutes: z.number().int().min(1).max(720).default(120),
  successExitCodes: z.array(z.number().int()).min(1).default([0]),
});

export type Program = z.infer<typeof programSchema>;

export function programFlags(program: Pick<Program, 'kind'>): number {
  return program.kind === 'device' ? PROGRAM_FLAG_WINDOWS_CE : 0;
}
