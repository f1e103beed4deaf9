/**
 * The admin API's JSON contract (ours, not ConfigMgr's): where it is, the bodies it takes, and what it answers.
 * The stub site serves it (src/server/admin-api.ts); the simulator's timeline and report, and the specs, speak it.
 */
import { z } from 'zod';
import type { ComplianceState } from '../domain/configuration-item.js';
import type { AdvertisementState, ComplianceResult, StatusMessage } from '../domain/status-message.js';
import { ACTIONS } from '../protocol/wire.js';

export const ADMIN_PATH = '/admin';

/** Every refusal: a 4xx with the field at fault and why. */
export interface AdminError {
  error: string;
  field: string;
  reason: string;
}

/** `?devices=true` on an advertisement's status lists the devices in each state. */
export const statusQuerySchema = z.strictObject({ devices: z.enum(['true', 'false']).default('false') });

/** Admin listings answer pages (`?limit=&offset=`): at most ADMIN_PAGE_MAX records each, ADMIN_PAGE_DEFAULT unless asked. */
export const ADMIN_PAGE_MAX = 10_000;
export const ADMIN_PAGE_DEFAULT = 1_000;
export const pageSchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(ADMIN_PAGE_MAX).default(ADMIN_PAGE_DEFAULT),
  offset: z.coerce.number().int().min(0).default(0),
});
export type Page = z.infer<typeof pageSchema>;
export const filterSchema = pageSchema.extend({ advertisementId: z.string().optional(), deviceId: z.string().optional() });
export const membersSchema = z.strictObject({ devices: z.array(z.string().min(1)).min(1) });
export const advertisementChangeSchema = z
  .strictObject({ availableAt: z.iso.datetime().optional(), expiresAt: z.iso.datetime().optional(), mandatory: z.boolean().optional() })
  .refine((change) => Object.keys(change).length > 0, { message: 'name at least one of availableAt, expiresAt, mandatory' });

/** What the ConfigMgr console shows for one advertisement. */
export interface AdvertisementStatus {
  advertisementId: string;
  /** Epoch ms from which devices could act on it: its creation or available time, whichever is later. */
  availableSince: number;
  targeted: number;
  /** Devices that sent 10002. */
  received: number;
  /** Targeted devices by ConfigMgr advertisement state: they add up to `targeted`. */
  byState: Record<AdvertisementState, number>;
  /** Which devices are in each state (with `?devices=true`). */
  devicesByState?: Record<AdvertisementState, string[]>;
  /** Status messages by ConfigMgr message id. */
  byMessageId: Record<string, number>;
  /** Configuration item id → devices by their last compliance state for it. */
  compliance: Record<string, Record<ComplianceState, number>>;
}

/** `GET /admin/devices/:name`: a device as the site knows it, and its status history, oldest first. */
export interface DeviceDetail {
  uuid: string;
  name: string;
  platform: string;
  firstPollAt: number;
  lastPollAt: number;
  history: StatusMessage[];
  compliance: ComplianceResult[];
}

// --- faults ------------------------------------------------------------------------------------------------------

/** Where a fault applies: one device action of the management point, or package content on the distribution point. */
export const FAULT_ENDPOINTS = [...ACTIONS, 'Content'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

/** Faults that only make sense for package content. */
const CONTENT_ONLY = ['corrupt-content', 'truncate-content', 'trickle'];

/** A fault's fields; `faultSchema` adds the checks across them. */
export const faultFieldsSchema = z.strictObject({
  endpoint: z.enum(FAULT_ENDPOINTS),
  /**
   * http-error: answer `status`. retry-after: answer `status` (429 or 503) with a Retry-After header.
   * latency: answer normally after a delay between `latencyMs.min` and `.max` (real time). reset: send the headers
   * and half the body, then drop the connection. malformed: answer 200 with a document that is not well-formed.
   * corrupt-content: the archive with bytes flipped (same length). truncate-content: half the archive, declared
   * complete. trickle: the archive at `bytesPerSecond` (real time).
   */
  kind: z.enum(['http-error', 'retry-after', 'latency', 'reset', 'malformed', 'corrupt-content', 'truncate-content', 'trickle']),
  status: z.number().int().min(400).max(599).default(503),
  retryAfterSeconds: z.number().int().min(0).default(120),
  latencyMs: z
    .strictObject({ min: z.number().min(0), max: z.number().min(0) })
    .refine((l) => l.max >= l.min, { message: 'max must be at least min' })
    .default({ min: 200, max: 2000 }),
  bytesPerSecond: z.number().int().positive().default(4096),
  /** Chance (0-1) that a matching request is hit. */
  rate: z.number().min(0).max(1).default(1),
  /** Window on the server's clock; open-ended when absent. */
  from: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
});

export const faultSchema = faultFieldsSchema
  .refine((f) => !CONTENT_ONLY.includes(f.kind) || f.endpoint === 'Content', {
    message: `${CONTENT_ONLY.join(', ')} apply only to the Content endpoint`,
    path: ['kind'],
  })
  .refine((f) => f.kind !== 'malformed' || f.endpoint !== 'Content', {
    message: 'malformed applies to device actions; use corrupt-content for Content',
    path: ['kind'],
  })
  .refine((f) => f.kind !== 'retry-after' || f.status === 429 || f.status === 503, { message: 'Retry-After goes with 429 or 503', path: ['status'] })
  .refine((f) => f.from === undefined || f.until === undefined || Date.parse(f.until) > Date.parse(f.from), {
    message: 'until must be after from',
    path: ['until'],
  });

export type Fault = z.infer<typeof faultSchema>;

/** A fault as the site holds it: what was asked, and its id. */
export type ActiveFault = Fault & { id: number };

/** `GET /admin/inventory/files?name=&version=`: which devices have a file (version: its leading parts, `3.2`). */
export const fileQuerySchema = z.strictObject({
  name: z.string().min(1),
  version: z
    .string()
    .regex(/^\d+(\.\d+)*$/, 'must be a dotted version, e.g. 3.2')
    .optional(),
});

/** One device's copy of a file, as its latest software inventory lists it. */
export interface FileOwnership {
  device: string;
  path: string;
  size: number;
  version?: string;
}

/** `GET /admin/inventory/storage`: per platform, per volume (Device_FileSystem Name), sizes in KB. */
export interface PlatformStorage {
  platform: string;
  /** Devices of the platform that sent machine inventory. */
  devices: number;
  volumes: Record<string, { devices: number; totalKB: number; freeKB: number; minFreeKB: number }>;
}

/** `GET /admin/devices/:name/inventory/history`: a device's reports before its latest, newest first. */
export interface InventoryHistory {
  machine: { time: number; items: { name: string; properties: [string, string][] }[] }[];
  software: { time: number; files: { path: string; size: number; version?: string }[] }[];
}
