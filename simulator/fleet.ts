import type { DeviceProfile } from '../src/agent/device-profile.js';
import { startHandheld, type Handheld } from '../src/agent/handheld.js';
import { memoryOf, type DeviceMemory } from '../src/agent/machine.js';
import type { SitePort } from '../src/agent/site-line.js';
import type { Logger } from '../src/logging.js';
import type { Random } from '../src/random.js';
import type { DeviceStateStore } from './device-state-store.js';
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
}

/** Many handhelds in one process: one actor each, sharing the site port (and its clock) and the root logger. */
export class Fleet {
  readonly handhelds: Handheld[];
  /** Devices through a whole poll cycle begun since `roundSince`: polled, handled offers, reported, idle again. */
  private readonly cycled = new Set<string>();
  private roundSince = -Infinity;

  constructor(options: FleetOptions) {
    const start = options.site.clock.now();
    this.handhelds = options.profiles.flatMap((profile, index) => {
      const firstPollAt = start + Math.round(options.random.next() * options.staggerMs);
      const random = options.random.fork();
      if (!isInSlice(index, options.slice)) return [];
      const store = options.stateStore;
      const memory = store?.load(profile.id);
      const handheld = startHandheld({
        profile,
        ...(memory && { memory }),
        firstPollAt,
        deps: {
          site: options.site,
          random,
          logger: options.logger.child({ device: profile.id }),
        },
      });
      let remembered: DeviceMemory | undefined = memory;
      handheld.subscribe((snapshot) => {
        const { lastPollAt, outbox } = snapshot.context;
        // What a device must remember changes when it records, delivers, finishes a package or reports: save then.
        if (store && changed(remembered, snapshot.context)) {
          remembered = memoryOf(snapshot.context);
          store.save(profile.id, remembered);
        }
        if (snapshot.value === 'idle' && lastPollAt !== null && lastPollAt >= this.roundSince && outbox.length === 0) this.cycled.add(profile.id);
      });
      return [handheld];
    });
  }

  get size(): number {
    return this.handhelds.length;
  }

  /** Starts counting a new round: only poll cycles begun from `since` (e.g. after a site change) count. */
  startRound(since: number): void {
    this.roundSince = since;
    this.cycled.clear();
  }

  /** Every device has finished a poll cycle begun in this round. */
  get roundComplete(): boolean {
    return this.cycled.size === this.handhelds.length;
  }

  get devicesCycled(): number {
    return this.cycled.size;
  }

  /** Status messages the devices generated, and how many await delivery. */
  statusCounts(): { generated: number; pending: number } {
    let generated = 0;
    let pending = 0;
    for (const handheld of this.handhelds) {
      const { seq, outbox } = handheld.getSnapshot().context;
      generated += seq;
      pending += outbox.length;
    }
    return { generated, pending };
  }

  /** Devices by top-level statechart state (`offer` for any stage of handling an advertisement). */
  stateCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const handheld of this.handhelds) {
      const value = handheld.getSnapshot().value;
      // Inside a compound state the value is an object whose one key is the top-level state.
      const [state] = typeof value === 'string' ? [value] : Object.keys(value);
      if (state !== undefined) counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  /** Devices by platform. */
  platformCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const handheld of this.handhelds) {
      const { platform } = handheld.getSnapshot().context.profile;
      counts[platform] = (counts[platform] ?? 0) + 1;
    }
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
    return { devices: this.size, cycled: this.devicesCycled, states: this.stateCounts() };
  }

  stop(): void {
    for (const handheld of this.handhelds) handheld.stop();
  }
}

/** Whether any part of a device's memory is a new object since it was last saved (the context is immutable). */
function changed(saved: DeviceMemory | undefined, now: DeviceMemory): boolean {
  if (!saved) return true;
  return (Object.keys(now) as (keyof DeviceMemory)[]).some((key) => saved[key] !== now[key]);
}
