import { z } from 'zod';

/**
 * Site control component "Device Client". ConfigMgr writes intervals as `0000-00-00 HH:MM:SS`; we keep that
 * format on the wire and in site files, and milliseconds in memory.
 */
const INTERVAL = /^0000-00-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

export function parseInterval(text: string): number {
  const match = INTERVAL.exec(text);
  if (!match) throw new Error(`interval "${text}" is not in the form 0000-00-DD HH:MM:SS`);
  const [days, hours, minutes, seconds] = match.slice(1).map(Number) as [number, number, number, number];
  return (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000;
}

export function formatInterval(ms: number): string {
  const total = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(total / 86400);
  return `0000-00-${pad(days)} ${pad(Math.floor(total / 3600) % 24)}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
}

const intervalSchema = z.string().refine((text) => INTERVAL.test(text) && parseInterval(text) > 0, {
  message: 'must be a positive interval in the form 0000-00-DD HH:MM:SS',
});

export const clientSettingsSchema = z.strictObject({
  pollInterval: intervalSchema.default('0000-00-00 01:00:00'),
  failureRetryCount: z.number().int().min(0).max(100).default(5),
  failureRetryInterval: intervalSchema.default('0000-00-00 00:03:00'),
  enableSoftwareDistribution: z.boolean().default(true),
});

export type ClientSettingsDefinition = z.infer<typeof clientSettingsSchema>;

/** Client settings as the agent uses them. Defaults are the documented Windows CE client defaults. */
export interface ClientSettings {
  pollIntervalMs: number;
  failureRetryCount: number;
  failureRetryIntervalMs: number;
  enableSoftwareDistribution: boolean;
}

export const DEFAULT_CLIENT_SETTINGS: ClientSettings = {
  pollIntervalMs: 60 * 60 * 1000,
  failureRetryCount: 5,
  failureRetryIntervalMs: 3 * 60 * 1000,
  enableSoftwareDistribution: true,
};

export function toClientSettings(definition: ClientSettingsDefinition): ClientSettings {
  return {
    pollIntervalMs: parseInterval(definition.pollInterval),
    failureRetryCount: definition.failureRetryCount,
    failureRetryIntervalMs: parseInterval(definition.failureRetryInterval),
    enableSoftwareDistribution: definition.enableSoftwareDistribution,
  };
}
