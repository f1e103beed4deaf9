import type { DeviceProfile } from '../src/agent/device-profile.js';
import type { Handheld } from '../src/agent/handheld.js';
import { MEMORY_FIELDS, memoryOf, type DeviceMemory } from '../src/agent/device-context.js';
import type { SitePort } from '../src/agent/site-line.js';
import type { Logger } from '../src/logging.js';
import type { Random } from '../src/random.js';
import type { DeviceStateStore } from './device-state-store.js';
import { DormantDevice, type DeviceHost } from './dormant-device.js';
import type { FleetReport } from './report.js';

/** Which share of a fleet one worker or shard runs (`--workers`, `--shard`): device i belongs to slice i mod `of`. */
export interface FleetSlice {
  index: number;
  of: number;
}

export function isInSlice(deviceIndex: number, slice: FleetSlice | undefined): boolean {
  return slice === undefined || deviceIndex % slice.of === slice.index;
}

/** What a progress display shows of a fleet (summed over workers). */
export interface FleetProgress {
  devices: number;
  cycled: number;
  states: Record<string, number>;
  /** Devices asleep as dormant records (see DormantDevice). */
  asleep: number;
}

export interface FleetOptions {
  /** Every device of the fleet, in order: each draws its randomness whether it runs here or not. */
  profiles: DeviceProfile[];
  /** Run only this share of `profiles`; each device is as it would be in the whole fleet (same stagger, same seed). */
  slice?: FleetSlice;
  site: SitePort;
  random: Random;
  logger: Logger;
  /** First polls are spread uniformly over this window from now, so the fleet does not stampede the site. */
  staggerMs: number;
  /** Where devices remember their outboxes across simulator restarts (`--state-dir`). */
  stateStore?: DeviceStateStore;
  /**
   * Whether idle devices sleep as compact records until their next poll (see DormantDevice): the default. Off, every
   * device is a live statechart throughout; the events are the same either way.
   */
  dormancy?: boolean;
}

/**
 * Many handhelds in one process, sharing the site port (and its clock) and the root logger: each a statechart while
 * it has something to do, and a dormant record while it waits for a poll.
 */
export class Fleet {
  readonly devices: DormantDevice[];
  /** Devices through a whole poll cycle begun since `roundSince`: polled, handled offers, reported, idle again. */
  private readonly cycled = new Set<string>();
  private roundSince = -Infinity;

  constructor(options: FleetOptions) {
    const start = options.site.clock.now();
    const store = options.stateStore;
    const host: DeviceHost = {
      site: options.site,
      logger: options.logger,
      startedAt: start,
      sleeps: options.dormancy ?? true,
      watch: (device, handheld) => {
        this.watch(device, handheld, store);
      },
    };
    // Every device draws its stagger and its stream, in the slice or not: a slice's devices are the whole fleet's.
    this.devices = options.profiles.flatMap((profile, index) => {
      const firstPollAt = start + Math.round(options.random.next() * options.staggerMs);
      const random = options.random.fork();
      return isInSlice(index, options.slice) ? [new DormantDevice(profile, host, random, firstPollAt, store?.load(profile.id))] : [];
    });
  }

  /** Follows a live device: saves what it must remember as it changes, and counts its finished poll cycles. */
  private watch(device: DormantDevice, handheld: Handheld, store: DeviceStateStore | undefined): void {
    handheld.subscribe((snapshot) => {
      const { polls, outbox } = snapshot.context;
      // What a device must remember changes when it records, delivers, finishes a package or reports: save then.
      if (store && changed(device.memory, snapshot.context)) {
        device.memory = memoryOf(snapshot.context);
        store.save(device.profile.id, device.memory);
      }
      if (snapshot.value === 'idle' && polls.lastAt !== null && polls.lastAt >= this.roundSince && outbox.length === 0) this.cycled.add(device.profile.id);
    });
  }

  get size(): number {
    return this.devices.length;
  }

  /** Starts counting a new round: only poll cycles begun from `since` (e.g. after a site change) count. */
  startRound(since: number): void {
    this.roundSince = since;
    this.cycled.clear();
  }

  /** Every device has finished a poll cycle begun in this round. */
  get roundComplete(): boolean {
    return this.cycled.size === this.devices.length;
  }

  get devicesCycled(): number {
    return this.cycled.size;
  }

  /** Status messages the devices generated, and how many await delivery. */
  statusCounts(): { generated: number; pending: number } {
    let generated = 0;
    let pending = 0;
    for (const device of this.devices) {
      // A device not started yet has generated what it remembered from an earlier run, if anything.
      const { seq, outbox } = device.context ?? device.memory ?? { seq: 0, outbox: [] };
      generated += seq;
      pending += outbox.length;
    }
    return { generated, pending };
  }

  /** Devices by top-level statechart state (`offer` for any stage of handling an advertisement). */
  stateCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { state } of this.devices) counts[state] = (counts[state] ?? 0) + 1;
    return counts;
  }

  /** Devices by platform. */
  platformCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { profile } of this.devices) counts[profile.platform] = (counts[profile.platform] ?? 0) + 1;
    return counts;
  }

  /** What a report says of the fleet itself, whatever clock it ran on. */
  reportSide(): Pick<FleetReport, 'devices' | 'platforms' | 'roundComplete' | 'devicesCycled' | 'deviceStates'> & {
    status: { generated: number; pending: number };
  } {
    return {
      devices: this.size,
      platforms: this.platformCounts(),
      roundComplete: this.roundComplete,
      devicesCycled: this.devicesCycled,
      deviceStates: this.stateCounts(),
      status: this.statusCounts(),
    };
  }

  progress(): FleetProgress {
    let asleep = 0;
    for (const device of this.devices) if (device.asleep) asleep++;
    return { devices: this.size, cycled: this.devicesCycled, states: this.stateCounts(), asleep };
  }

  stop(): void {
    for (const device of this.devices) device.stop();
  }
}

/** Whether any part of a device's memory is a new object since it was last saved (the context is immutable). */
function changed(saved: DeviceMemory | undefined, now: DeviceMemory): boolean {
  if (!saved) return true;
  // The fields remembered, not every key of the context given: those others (its polls, its retries) are not saved.
  return MEMORY_FIELDS.some((key) => saved[key] !== now[key]);
}
