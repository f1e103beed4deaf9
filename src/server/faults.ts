import { z } from 'zod';
import { DEVICE_ACTIONS } from '../protocol/documents.js';
import type { Random } from '../random.js';

/** Where a fault applies: one device action of the management point, or package content on the distribution point. */
export const FAULT_ENDPOINTS = [...DEVICE_ACTIONS, 'Content'] as const;
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

export const faultSchema = z
  .strictObject({
    endpoint: z.enum(FAULT_ENDPOINTS),
    /**
     * http-error: answer `status` instead of serving. corrupt-content: serve the archive with bytes flipped (same
     * length). truncate-content: serve only the first half of the archive, declared as complete.
     */
    kind: z.enum(['http-error', 'corrupt-content', 'truncate-content']),
    status: z.number().int().min(400).max(599).default(503),
    /** Chance (0-1) that a matching request is hit. */
    rate: z.number().min(0).max(1).default(1),
    /** Window on the server's clock; open-ended when absent. */
    from: z.iso.datetime().optional(),
    until: z.iso.datetime().optional(),
  })
  .refine((f) => f.kind === 'http-error' || f.endpoint === 'Content', { message: 'content faults apply only to the Content endpoint', path: ['kind'] })
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
}
