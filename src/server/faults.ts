import { z } from 'zod';
import { ACTIONS } from '../protocol/wire.js';
import type { Random } from '../random.js';

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
export type ActiveFault = Fault & { id: number };

/** The faults currently injected, and the roll that decides whether a request is hit. */
export class FaultInjector {
  private readonly faults: ActiveFault[] = [];
  private nextId = 1;

  constructor(private readonly random: Random) {}

  add(fault: Fault): ActiveFault {
    const active = { ...fault, id: this.nextId++ };
    this.faults.push(active);
    return active;
  }

  list(): ActiveFault[] {
    return [...this.faults];
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** The first fault on `endpoint` whose window holds `now` and whose rate roll hits, if any. */
  hit(endpoint: FaultEndpoint, now: number): ActiveFault | undefined {
    for (const fault of this.faults) {
      if (fault.endpoint !== endpoint) continue;
      if (fault.from !== undefined && now < Date.parse(fault.from)) continue;
      if (fault.until !== undefined && now >= Date.parse(fault.until)) continue;
      if (fault.rate >= 1 || this.random.next() < fault.rate) return fault;
    }
    return undefined;
  }

  /** A delay for a latency fault, drawn from its range. */
  latency(fault: ActiveFault): number {
    return fault.latencyMs.min + this.random.next() * (fault.latencyMs.max - fault.latencyMs.min);
  }
}
