import type { DeviceProfile } from '../src/agent/device-profile.js';
import { SiteConnection } from '../src/agent/site-connection.js';
import { sitePortOf } from '../src/agent/site-line.js';
import type { SiteTransport } from '../src/agent/site-transport.js';
import type { Logger } from '../src/logging.js';
import type { Random } from '../src/random.js';
import type { Clock } from '../src/time/clock.js';
import { exchangeHook, type RunWatcher } from './dashboard/sampler.js';
import type { DeviceStateStore } from './device-state-store.js';
import { drawProfiles, type FleetMix } from './fleet-mix.js';
import { Fleet, type FleetSlice } from './fleet.js';
import type { LatencyRecorder } from './latency.js';
import { WireLog, type WireLogOptions } from './wire-log.js';

export interface FleetOnSiteOptions {
  serverUrl: string;
  clock: Clock;
  mix: FleetMix;
  devices: number;
  /** The run's stream: the profiles draw from its next fork, the fleet from the one after. */
  random: Random;
  staggerMs: number;
  latency: LatencyRecorder;
  logger: Logger;
  stateStore?: DeviceStateStore | undefined;
  slice?: FleetSlice | undefined;
  wireLog?: WireLogOptions | undefined;
  watcher?: RunWatcher | undefined;
  dormancy?: boolean | undefined;
  /** How the devices reach the site: HTTP unless given (a replay gives its embedded site's transport). */
  transport?: SiteTransport | undefined;
}

/**
 * A run's fleet on one connection to its site, as a replay and a live fleet both make it: the profiles drawn from
 * the mix (all of them, this slice's or not), the wire log and latency hooked to the connection, the devices of this slice. `close` ends the connection
 * and the wire log once the fleet has stopped.
 */
export function fleetOnSite(options: FleetOnSiteOptions): { fleet: Fleet; profiles: DeviceProfile[]; close: () => Promise<void> } {
  const profiles = drawProfiles(options.mix, options.devices, options.random.fork());
  const wireLog = options.wireLog && new WireLog(options.wireLog.file, profiles, options.wireLog.devices);
  const connection = new SiteConnection({
    serverUrl: options.serverUrl,
    clock: options.clock,
    onExchange: exchangeHook(options.latency.record, options.watcher),
    logger: options.logger,
    ...wireLog?.hooks,
    ...(options.transport && { transport: options.transport }),
  });
  const fleet = new Fleet({
    ...(options.stateStore && { stateStore: options.stateStore }),
    profiles,
    ...(options.slice && { slice: options.slice }),
    site: sitePortOf(connection),
    random: options.random.fork(),
    logger: options.logger,
    staggerMs: options.staggerMs,
    ...(options.dormancy !== undefined && { dormancy: options.dormancy }),
  });
  return {
    fleet,
    profiles,
    close: async () => {
      await connection.close();
      await wireLog?.close();
    },
  };
}
