import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { advertisementSchema } from '../src/domain/advertisement.js';
import { configurationItemSchema } from '../src/domain/configuration-item.js';
import { packageSchema } from '../src/domain/package.js';
import { siteSchema, type SiteDefinition } from '../src/domain/site.js';
import { faultFieldsSchema } from '../src/admin/contract.js';
import { InputFileError, loadSiteFile, loadValidatedFile } from '../src/input-file.js';
import { fleetMixSchema, type FleetMix } from './fleet-mix.js';

/** A moment in a scenario, as hours:minutes from its start ("00:30", "26:00"). */
const offsetSchema = z
  .string()
  .regex(/^\d{1,3}:[0-5]\d$/, 'must be hours:minutes from the start, e.g. "01:30"')
  .transform((text) => {
    const [hours, minutes] = text.split(':').map(Number) as [number, number];
    return (hours * 60 + minutes) * 60_000;
  });

const at = offsetSchema.describe('when the action happens, as hours:minutes from the start');

/** What can happen during a scenario; each is applied through the site's admin API. */
export const timelineActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ at, action: z.literal('advertise'), advertisement: advertisementSchema }),
  z.strictObject({ at, action: z.literal('expire'), advertisementId: z.string().min(1) }),
  z
    .strictObject({ at, action: z.literal('distributionPointDown'), until: offsetSchema, status: z.number().int().min(500).max(599).default(503) })
    .refine((a) => a.until > a.at, { message: 'until must be after at', path: ['until'] }),
  z
    .strictObject({
      at,
      action: z.literal('fault'),
      /** Any fault the admin API takes, without its window: it starts at `at` and ends at `until` (or never). */
      fault: faultFieldsSchema.omit({ from: true, until: true }),
      until: offsetSchema.optional(),
    })
    .refine((a) => a.until === undefined || a.until > a.at, { message: 'until must be after at', path: ['until'] }),
  z
    .strictObject({
      at,
      action: z.literal('siteDown'),
      /** The site comes back then: same objects and registrations, status reopened from its database. */
      until: offsetSchema,
    })
    .refine((a) => a.until > a.at, { message: 'until must be after at', path: ['until'] }),
  z.strictObject({ at, action: z.literal('replacePackage'), package: packageSchema }),
  z.strictObject({ at, action: z.literal('changeConfigurationItem'), item: configurationItemSchema }),
  z.strictObject({
    at,
    action: z.literal('addToCollection'),
    collectionId: z.string().min(1),
    /** Device ids, or the first N devices of the fleet. */
    devices: z.union([z.array(z.string().min(1)).min(1), z.strictObject({ first: z.number().int().positive() })]),
  }),
]);

export type TimelineAction = z.infer<typeof timelineActionSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  seed: z.number().int().positive().default(1),
  devices: z.number().int().positive().default(25),
  /** A site file (relative to this file) or the site itself. */
  site: z.union([z.string().min(1), siteSchema]),
  /** A fleet mix file (relative to this file) or the mix itself. */
  fleet: z.union([z.string().min(1), fleetMixSchema]),
  staggerMinutes: z.number().positive().default(10),
  /** How long to run; without it the run ends once the timeline is done and every device has polled since. */
  duration: offsetSchema.optional(),
  timeline: z.array(timelineActionSchema).default([]),
});

export interface Scenario {
  file: string;
  /** The file the site was defined in: its own file, or the scenario's when the site is inline. */
  siteFile: string;
  name: string;
  description: string;
  seed: number;
  devices: number;
  site: SiteDefinition;
  contentRoot: string;
  mix: FleetMix;
  staggerMs: number;
  durationMs: number | null;
  timeline: TimelineAction[];
}

/** Loads a scenario and the site and fleet files it names; every problem names the file and the field. */
export async function loadScenario(file: string): Promise<Scenario> {
  const raw = await loadValidatedFile(file, scenarioSchema);
  const dir = path.dirname(file);
  const siteFile = typeof raw.site === 'string' ? path.resolve(dir, raw.site) : file;
  const { site, contentRoot } =
    typeof raw.site === 'string' ? await loadSiteFile(siteFile) : { site: raw.site, contentRoot: path.resolve(dir, raw.site.contentRoot) };
  const mix = typeof raw.fleet === 'string' ? await loadValidatedFile(path.resolve(dir, raw.fleet), fleetMixSchema) : raw.fleet;
  checkTimelineReferences(file, site, raw.timeline);
  return {
    file,
    siteFile,
    name: raw.name,
    description: raw.description,
    seed: raw.seed,
    devices: raw.devices,
    site,
    contentRoot,
    mix,
    staggerMs: raw.staggerMinutes * 60_000,
    durationMs: raw.duration ?? null,
    timeline: raw.timeline,
  };
}

/** Where the published JSON Schema of the scenario format lives. */
export const SCENARIO_SCHEMA_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config', 'scenarios', 'scenario.schema.json');

/** The scenario format as JSON Schema, for editors and for people writing scenarios. */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' });
}

/**
 * What a timeline action names must exist by its time: in the site, or made by an earlier action. Found when the
 * scenario loads, not when the action fires hours into a run.
 */
function checkTimelineReferences(file: string, site: SiteDefinition, timeline: readonly TimelineAction[]): void {
  const advertisements = new Set(site.advertisements.map((a) => a.id));
  const packages = new Set(site.packages.map((p) => p.id));
  const items = new Set(site.configurationItems.map((i) => i.id));
  const collections = new Set(site.collections.map((c) => c.id));
  const refuse = (index: number, field: string, reason: string) => {
    throw new InputFileError(file, `timeline.${index}.${field}`, reason);
  };
  // In the order they fire: an action may name what an earlier one made.
  const order = timeline.map((action, index) => ({ action, index })).sort((a, b) => a.action.at - b.action.at || a.index - b.index);
  for (const { action, index } of order) {
    if (action.action === 'advertise') advertisements.add(action.advertisement.id);
    if (action.action === 'expire' && !advertisements.has(action.advertisementId)) {
      refuse(index, 'advertisementId', `advertisement ${action.advertisementId} is neither in the site nor advertised before this action`);
    }
    if (action.action === 'replacePackage' && !packages.has(action.package.id)) refuse(index, 'package.id', `package ${action.package.id} is not in the site`);
    if (action.action === 'changeConfigurationItem' && !items.has(action.item.id))
      refuse(index, 'item.id', `configuration item ${action.item.id} is not in the site`);
    if (action.action === 'addToCollection' && !collections.has(action.collectionId)) {
      refuse(index, 'collectionId', `collection ${action.collectionId} is not in the site`);
    }
  }
}
