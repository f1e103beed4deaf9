import type { AxiosInstance } from 'axios';
import { adminClient } from '../../src/admin/client.js';
import type { Advertisement } from '../../src/domain/advertisement.js';
import type { AdvertisementState } from '../../src/domain/status-message.js';
import type { ActiveFault, AdvertisementStatus } from '../../src/admin/contract.js';
import type { Fleet } from '../fleet.js';
import { LatencyRecorder, type LatencySummary } from '../latency.js';
import type { RunWindow } from '../report-timeline.js';

/** What a run shows the dashboard: its fleet, its clock, and the site's admin API when it has one. */
export interface WatchedRun {
  /** None for `serve`: the site alone, its devices elsewhere. */
  fleet: Fleet | null;
  clock: { now(): number };
  /** The run's start on its clock. */
  start: number;
  /** The mlc-sim site whose admin API tells advertisement status and faults (absent for another server). */
  siteUrl: string | null;
  /** Outages and faults known in advance (a scenario's timeline). */
  windows: RunWindow[];
}

/** The seam a run offers a watcher: told of the run once it is up, and of every exchange. */
export interface RunWatcher {
  watch(run: WatchedRun): void;
  exchange(endpoint: string, ms: number, ok: boolean): void;
}

/** One advertisement as the dashboard shows it: counts only, cumulative. */
export interface AdvertisementSample {
  id: string;
  name: string;
  targeted: number;
  byState: Record<AdvertisementState, number>;
  byMessageId: Record<string, number>;
}

/** The whole of what the page gets each second: aggregates, never a device. */
export interface Sample {
  wallTime: string;
  simTime: string;
  /** Seconds since the run started, on its clock: the charts' x. */
  seconds: number;
  deviceStates: Record<string, number>;
  advertisements: AdvertisementSample[];
  /** Per endpoint, the requests of the last second (wall clock). */
  requests: Record<string, LatencySummary>;
  /** Faults the site holds now, as windows on the run's axis. */
  faults: RunWindow[];
}

/**
 * The share of the run's time the dashboard's whole-fleet work may take: counting devices by state, and reading the
 * site's status, are each repeated no sooner than their last run's cost allows (every second up to tens of thousands
 * of devices; about every 2 s at 100,000, where counting takes some 35 ms).
 */
const BUDGET = 0.02;

/**
 * Aggregates a run once a second: devices by statechart state from the fleet, advertisement status and faults from
 * the site's admin API, request counts and latency of the last second from the exchanges. The fleet's hot path
 * only records each exchange in a histogram; everything else happens on the tick, within BUDGET.
 */
export class RunSampler implements RunWatcher {
  run: WatchedRun | null = null;
  private readonly lastSecond = new LatencyRecorder();
  private admin: AxiosInstance | null = null;
  private siteSide: Pick<Sample, 'advertisements' | 'faults'> = { advertisements: [], faults: [] };
  private asking = false;
  private nextSiteReadAt = 0;
  private deviceStates: Record<string, number> = {};
  private nextCountAt = 0;

  watch(run: WatchedRun): void {
    this.run = run;
    this.admin = run.siteUrl === null ? null : adminClient(run.siteUrl, { timeoutMs: 5000 });
  }

  exchange = (endpoint: string, ms: number, ok: boolean): void => {
    this.lastSecond.record(endpoint, ms, ok);
  };

  /** This second's sample; the site's side is the latest answer its admin API gave (asked again, one at a time). */
  sample(): Sample | null {
    const run = this.run;
    if (!run) return null;
    if (!this.asking && performance.now() >= this.nextSiteReadAt) void this.refreshSite();
    if (run.fleet && performance.now() >= this.nextCountAt) {
      const started = performance.now();
      this.deviceStates = run.fleet.stateCounts();
      this.nextCountAt = started + (performance.now() - started) / BUDGET;
    }
    const requests = this.lastSecond.summary();
    this.lastSecond.reset();
    const now = run.clock.now();
    return {
      wallTime: new Date().toISOString(),
      simTime: new Date(now).toISOString(),
      seconds: (now - run.start) / 1000,
      deviceStates: this.deviceStates,
      ...this.siteSide,
      requests,
    };
  }

  /** Reads advertisement status and faults from the site's admin API again (each tick does, one read at a time). */
  async refreshSite(): Promise<void> {
    const { admin, run } = this;
    if (!admin || !run) return;
    this.asking = true;
    const started = performance.now();
    try {
      const [{ data: ads }, { data: faults }] = await Promise.all([admin.get<Advertisement[]>('/advertisements'), admin.get<ActiveFault[]>('/faults')]);
      const advertisements = await Promise.all(
        ads.map(async (ad) => {
          const { data } = await admin.get<AdvertisementStatus>(`/advertisements/${ad.id}/status`);
          return { id: ad.id, name: ad.name, targeted: data.targeted, byState: data.byState, byMessageId: data.byMessageId };
        }),
      );
      const now = run.clock.now();
      const seconds = (iso: string | undefined) => (iso === undefined ? null : (Date.parse(iso) - run.start) / 1000);
      this.siteSide = {
        advertisements,
        faults: faults
          .filter((f) => (f.from === undefined || Date.parse(f.from) <= now) && (f.until === undefined || Date.parse(f.until) > now))
          .map((f) => ({ label: `${f.kind} on ${f.endpoint}`, fromSeconds: seconds(f.from) ?? 0, untilSeconds: seconds(f.until) })),
      };
    } catch {
      // The site is down (a scenario's siteDown), or not an mlc-sim site: the last answer stands.
    } finally {
      this.asking = false;
      this.nextSiteReadAt = started + (performance.now() - started) / BUDGET;
    }
  }
}

/** The exchange hook of a run: latency, and the watcher too when there is one (none: the hot path is as before). */
export function exchangeHook(record: LatencyRecorder['record'], watcher: RunWatcher | undefined): LatencyRecorder['record'] {
  if (!watcher) return record;
  return (endpoint, ms, ok) => {
    record(endpoint, ms, ok);
    watcher.exchange(endpoint, ms, ok);
  };
}
