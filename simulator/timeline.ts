import type { AxiosInstance, AxiosResponse } from 'axios';
import { adminClient } from '../src/admin/client.js';
import type { Logger } from '../src/logging.js';
import type { Clock } from '../src/time/clock.js';
import type { TimelineAction } from './scenario.js';

/** A timeline action the site refused: which action (its index in the file), and the site's reason. */
export class TimelineError extends Error {
  constructor(
    readonly index: number,
    readonly action: string,
    readonly reason: string,
  ) {
    super(`timeline.${index} (${action}): ${reason}`);
    this.name = 'TimelineError';
  }
}

export interface TimelineOptions {
  clock: Clock;
  serverUrl: string;
  /** Scenario start: action offsets count from here. */
  start: number;
  /** The fleet's device ids, in order, for `addToCollection: { first: N }`. */
  deviceIds: string[];
  logger: Logger;
  /** Told when an action has been applied. */
  onApplied: (action: TimelineAction, at: number) => void;
  /** The embedded site, for `siteDown`. */
  site: { stop(): Promise<void>; restart(): Promise<void> };
}

/** Plays a scenario's timeline against the site's admin API, each action at its moment on the clock. */
export class Timeline {
  private readonly admin: AxiosInstance;
  private readonly timers: unknown[];
  private pending: number;
  private failure: TimelineError | null = null;
  /** The action being applied: the next waits for it, so actions due together apply in the file's order. */
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly actions: TimelineAction[],
    private readonly options: TimelineOptions,
  ) {
    this.admin = adminClient(options.serverUrl, { validateStatus: () => true });
    this.pending = actions.length;
    // Each action is in place before any device request of its second reaches the site (`first`), and actions of
    // the same second apply one after another: the replay does not depend on which request arrives first.
    this.timers = actions.map((action, index) =>
      options.clock.setTimeout(
        () => {
          this.inTurn(() => this.apply(action, index));
        },
        options.start + action.at - options.clock.now(),
        true,
      ),
    );
  }

  /** Applies after whatever is being applied, tracked on the clock so that time waits for it. */
  private inTurn(work: () => Promise<void>): void {
    const applied = this.applying.then(work);
    // An action that throws fails as it did alone; the ones after it still apply.
    this.applying = applied.catch(() => undefined);
    void this.options.clock.track(applied);
  }

  /** Cancels the actions not yet due (a run that ends before its timeline). */
  stop(): void {
    for (const timer of this.timers) this.options.clock.clearTimeout(timer);
  }

  get done(): boolean {
    return this.pending === 0;
  }

  get error(): TimelineError | null {
    return this.failure;
  }

  private async apply(action: TimelineAction, index: number): Promise<void> {
    const { clock, start, deviceIds } = this.options;
    const iso = (ms: number) => new Date(ms).toISOString();
    if (action.action === 'siteDown') {
      await this.options.site.stop();
      this.options.logger.info('site down', { index });
      // Back up at `until`; the action counts as applied once the site answers again.
      clock.setTimeout(
        () => {
          this.inTurn(() => this.siteBackUp(action, index));
        },
        start + action.until - clock.now(),
        true,
      );
      return;
    }
    let response: AxiosResponse<{ field?: string; reason?: string }>;
    switch (action.action) {
      case 'advertise':
        response = await this.admin.post('/advertisements', action.advertisement);
        break;
      case 'expire':
        response = await this.admin.patch(`/advertisements/${action.advertisementId}`, { expiresAt: iso(clock.now()) });
        break;
      case 'distributionPointDown':
        response = await this.admin.post('/faults', {
          endpoint: 'Content',
          kind: 'http-error',
          status: action.status,
          from: iso(clock.now()),
          until: iso(start + action.until),
        });
        break;
      case 'fault':
        response = await this.admin.post('/faults', {
          ...action.fault,
          from: iso(clock.now()),
          ...(action.until !== undefined && { until: iso(start + action.until) }),
        });
        break;
      case 'replacePackage':
        response = await this.admin.put(`/packages/${action.package.id}`, action.package);
        break;
      case 'changeConfigurationItem':
        response = await this.admin.put(`/configuration-items/${action.item.id}`, action.item);
        break;
      case 'addToCollection': {
        const devices = Array.isArray(action.devices) ? action.devices : deviceIds.slice(0, action.devices.first);
        response = await this.admin.post(`/collections/${action.collectionId}/members`, { devices });
        break;
      }
    }
    this.applied(action, index, response);
  }

  private async siteBackUp(action: TimelineAction, index: number): Promise<void> {
    await this.options.site.restart();
    this.applied(action, index, null);
  }

  private applied(action: TimelineAction, index: number, response: AxiosResponse<{ field?: string; reason?: string }> | null): void {
    if (response && response.status >= 400) {
      this.failure ??= new TimelineError(
        index,
        action.action,
        `the site refused it (HTTP ${response.status}): ${response.data.field ?? ''}: ${response.data.reason ?? JSON.stringify(response.data)}`,
      );
      return;
    }
    this.pending--;
    this.options.logger.info('timeline action applied', { index, action: action.action });
    this.options.onApplied(action, this.options.clock.now());
  }
}
