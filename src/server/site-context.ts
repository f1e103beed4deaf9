import type { Logger } from '../logging.js';
import type { Catalog } from './catalog.js';
import type { DeviceRegistry } from './device-registry.js';
import type { FaultInjector } from './faults.js';
import type { InventoryStore } from './inventory-store.js';
import type { Policy } from './policy.js';
import type { SiteLimits } from './site-limits.js';
import type { StatusStore } from './status-store.js';

/** What every part of the stub site server shares. */
export interface SiteContext {
  catalog: Catalog;
  devices: DeviceRegistry;
  policy: Policy;
  status: StatusStore;
  inventory: InventoryStore;
  faults: FaultInjector;
  /** The content URLs the site hands out name the device each is for (see contentUrl in distribution-point.ts). */
  contentUrlsNameDevice: boolean;
  /** The site's notion of now: real time, or the replay's simulated time. */
  now: () => number;
  logger: Logger;
  limits: SiteLimits;
  /** The admin API's bearer token, when it asks for one (a site listening off loopback): see admin-guard.ts. */
  adminToken: string | null;
}
