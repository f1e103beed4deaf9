import type { InspectionEvent } from 'xstate';
import type { Handheld } from '../../src/agent/handheld.js';
import type { DormantDevice } from '../dormant-device.js';
import type { Fleet } from '../fleet.js';

/** The events a device has been through since someone first asked for it. */
const EVENTS_KEPT = 30;

export interface DeviceView {
  id: string;
  platform: string;
  /** The statechart's state, as XState names it (nested states joined by dots). */
  state: string;
  context: Record<string, string | number | null>;
  /** Events since the device was first looked at, newest last: XState's inspection API feeds them. */
  events: { time: string; type: string }[];
}

/**
 * One device on request: found by id, its state and a summary of its context, and its last events. A device starts
 * recording events (through its actor system's inspection) only once the page asks for it, so unwatched devices cost
 * nothing.
 */
export class DeviceViews {
  private byId: Map<string, DormantDevice> | null = null;
  private readonly events = new Map<string, { time: string; type: string }[]>();
  /** The statechart each watched device's events come from: a device that slept and woke has a new one. */
  private readonly inspected = new Map<string, Handheld>();

  constructor(
    private readonly fleet: Fleet,
    private readonly clock: { now(): number },
  ) {}

  view(id: string): DeviceView | null {
    this.byId ??= new Map(this.fleet.devices.map((d) => [d.profile.id, d]));
    const device = this.byId.get(id);
    if (!device) return null;
    const events = this.eventsOf(id, device);
    const context = device.context;
    const live = device.live?.getSnapshot().value;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      id,
      platform: device.profile.platform,
      state: live === undefined ? device.state : stateName(live),
      context: context
        ? {
            'current package': context.current || null,
            'packages listed': context.packages.length,
            'queued this round': context.queue.length,
            'packages handled': Object.keys(context.done).length,
            'files changed': Object.keys(context.state.files).length,
            'registry keys changed': Object.keys(context.state.registry).length,
            'status messages sent': context.seq,
            'in the outbox': context.outbox.length,
            'failed attempts of this poll': context.retries.attempts,
            'first poll': iso(context.polls.firstAt),
            'last poll': iso(context.polls.lastAt),
            'asleep until its poll': device.asleep ? 'yes' : 'no',
          }
        : { 'first poll': 'not yet', 'asleep until its poll': 'yes' },
      events: [...events],
    };
  }

  /** Events of the device's live statechart from the first time it is looked at (none happen while it sleeps). */
  private eventsOf(id: string, device: DormantDevice): { time: string; type: string }[] {
    let events = this.events.get(id);
    if (!events) {
      events = [];
      this.events.set(id, events);
    }
    const live = device.live;
    if (live && this.inspected.get(id) !== live) {
      this.inspected.set(id, live);
      const kept = events;
      live.system.inspect((inspection: InspectionEvent) => {
        if (inspection.type !== '@xstate.event') return;
        kept.push({ time: new Date(this.clock.now()).toISOString(), type: inspection.event.type });
        if (kept.length > EVENTS_KEPT) kept.shift();
      });
    }
    return events;
  }
}

function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  return Object.entries(value as Record<string, unknown>)
    .map(([key, inner]) => `${key}.${stateName(inner)}`)
    .join(', ');
}
