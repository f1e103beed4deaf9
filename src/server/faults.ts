import type { ActiveFault, Fault, FaultEndpoint } from '../admin/contract.js';
import { hashUniform } from '../random.js';

/** A fault that struck a request, and how long a latency fault holds it (0 for the other kinds). */
export interface FaultHit {
  fault: ActiveFault;
  latencyMs: number;
}

/**
 * The faults currently injected, and the rolls that decide which requests they hit. A roll is not drawn from a
 * generator in arrival order: it is a hash of the site's seed, the fault, and the request's identity (who asked,
 * for which endpoint, and how many times that requester had asked that endpoint before), so a replay hits the same
 * requests however the requests of different devices interleave on the way to the site.
 */
export class FaultInjector {
  private readonly faults: ActiveFault[] = [];
  private nextId = 1;
  /** Per requester, its requests to each endpoint so far (those made while some fault was injected). */
  private readonly counts = new Map<string, Partial<Record<FaultEndpoint, number>>>();

  constructor(private readonly seed: number) {}

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

  /**
   * The first fault on `endpoint` whose window holds `now` and whose rate roll hits this request, if any.
   * `requester` names who asked: a device's X-Device-UUID, or for Content the device its URL names. Requests are
   * counted only while some fault is injected, so a site without faults keeps no count per device; in a replay faults
   * come from the timeline, at the same moments every time, so the counts do too.
   */
  hit(endpoint: FaultEndpoint, requester: string, now: number): FaultHit | undefined {
    if (this.faults.length === 0) return undefined;
    const n = this.count(requester, endpoint);
    for (const fault of this.faults) {
      if (fault.endpoint !== endpoint) continue;
      if (fault.from !== undefined && now < Date.parse(fault.from)) continue;
      if (fault.until !== undefined && now >= Date.parse(fault.until)) continue;
      if (fault.rate < 1 && this.roll('hit', fault, requester, endpoint, n) >= fault.rate) continue;
      const { min, max } = fault.latencyMs;
      return { fault, latencyMs: fault.kind === 'latency' ? min + this.roll('latency', fault, requester, endpoint, n) * (max - min) : 0 };
    }
    return undefined;
  }

  /** This request's number among the requester's requests to the endpoint: 0 for its first. */
  private count(requester: string, endpoint: FaultEndpoint): number {
    let counts = this.counts.get(requester);
    if (counts === undefined) {
      counts = {};
      this.counts.set(requester, counts);
    }
    const n = counts[endpoint] ?? 0;
    counts[endpoint] = n + 1;
    return n;
  }

  private roll(what: 'hit' | 'latency', fault: ActiveFault, requester: string, endpoint: FaultEndpoint, n: number): number {
    return hashUniform(this.seed, what, fault.id, requester, endpoint, n);
  }
}
