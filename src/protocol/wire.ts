/**
 * The Windows CE device-management wire, as ../shared/reference/dm-protocol.md specifies it: one URL, every
 * message a POST whose kind is the `X-Device-Action` header, XML bodies, and one date-shaped format for times and
 * durations. Shared by the agent and the stub site.
 */
import { z } from 'zod';
import { parseDate, parseDuration } from '../domain/dm-time.js';

export { formatDate, formatDuration, parseDate, parseDuration } from '../domain/dm-time.js';

export const DM_NAMESPACE = 'http://www.microsoft.com/DeviceManagement.xsd';
/** Where mlc-sim's extensions ride when the documents have no carrier (see README, "Wire protocol"). */
export const EXTENSION_NAMESPACE = 'urn:mlc-sim:dm-extension';

export const MANAGEMENT_SYSTEM = { name: 'SMS Device Management', version: '2.5.0.0' } as const;
/** `X-Device-client-version`: the registry's recommended `Version`. */
export const CLIENT_VERSION = '1.0';

/** The path real devices post to (the documentation's `/devicemgmt/server/aspx` is a typo for it). */
export const DEFAULT_DM_PATH = '/devicemgmt/server.aspx';
/** Where the stub site's distribution point serves package content. */
export const DISTRIBUTION_POINT_PATH = '/SMS_DP_SMSPKG$';

/** A server URL as a user gives it: a bare origin gets the documented path, a URL with a path keeps it. */
export function managementPointUrl(server: string): URL {
  const url = new URL(server);
  if (url.pathname === '/' || url.pathname === '') url.pathname = DEFAULT_DM_PATH;
  return url;
}

/** Header names, lower case as Node hands them over (HTTP header names are case-insensitive). */
export const HEADERS = {
  uuid: 'x-device-uuid',
  auth: 'x-device-auth',
  timestamp: 'x-device-timestamp',
  clientVersion: 'x-device-client-version',
  action: 'x-device-action',
  reportType: 'x-device-reporttype',
  fileName: 'x-device-fullyqualifiedfilename',
} as const;

/** `X-Device-Action` values. `Status` is the reference's inference: the documents leave the status action unnamed. */
export const ACTIONS = ['Poll', 'InstructionRequest', 'LocationRequest', 'Status', 'Report'] as const;
export type Action = (typeof ACTIONS)[number];

export const REPORT_TYPES = ['MachineInventory', 'SoftwareInventory', 'FileCollection'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

// --- the date format, read by the document schemas ---------------------------------------------------------------

const via = (parse: (text: string) => number) =>
  z.string().transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
export const dateText = via(parseDate);
export const durationText = via(parseDuration);

// --- Instructions/Flags (the classes are src/domain/eligibility.ts's CONNECTION_FLAGS) -------------------------------

/** `Flags` as four space-separated hex bytes, least significant first: 0x06 is `06 00 00 00`. */
export function formatFlags(mask: number): string {
  return [0, 8, 16, 24].map((shift) => ((mask >>> shift) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(' ');
}

export const flagsText = z
  .string()
  .trim()
  .regex(/^[0-9A-Fa-f]{2}( [0-9A-Fa-f]{2}){3}$/, 'must be four hex bytes, e.g. 02 00 00 00')
  .transform((v) => v.split(' ').reduce((mask, byte, i) => mask | (parseInt(byte, 16) << (8 * i)), 0) >>> 0);

/**
 * `X-Device-Timestamp` as the server sets it: the time of the poll, in the US-locale text of the documentation's
 * sample (`7/3/2004 9:05:11 PM`). Opaque to the device, which stores it and echoes it on its next poll.
 */
export function deviceTimestamp(ms: number): string {
  const d = new Date(ms);
  const hours = d.getUTCHours() % 12 || 12;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${hours}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}
