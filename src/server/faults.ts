import type { ActiveFault, Fault, FaultEndpoint } from '../admin/contract.js';
import type { Random } from '../random.js';

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
