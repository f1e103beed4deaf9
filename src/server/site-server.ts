import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { SiteDefinition } from '../domain/site.js';
import { silentLogger, type Logger } from '../logging.js';
import { registerAdminApi } from './admin-api.js';
import { registerAdminGuard } from './admin-guard.js';
import { Catalog } from './catalog.js';
import { DeviceRegistry } from './device-registry.js';
import { registerDistributionPoint } from './distribution-point.js';
import { FaultInjector } from './faults.js';
import { InventoryStore } from './inventory-store.js';
import { registerManagementPoint } from './management-point.js';
import { Policy } from './policy.js';
import type { SiteContext } from './site-context.js';
import { DEFAULT_SITE_LIMITS, type SiteLimits } from './site-limits.js';
import { SiteError } from './site-error.js';
import { reportExchanges, type ExchangeListener } from './exchange-hook.js';
import { StatusStore } from './status-store.js';

export interface SiteServerOptions {
  site: SiteDefinition;
  /** Directory the packages' `source` paths resolve against. */
  contentRoot: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The site's clock; replays pass the simulated clock's `now`. */
  now?: () => number;
  /**
   * Seeds the site's random decisions: which requests a fault with a rate below 1 hits, and a latency fault's delay.
   * Each is a hash of the seed and the request's identity (see FaultInjector), not a draw in arrival order.
   */
  seed?: number;
  /**
   * Name the device in each content URL the site hands out (`?device=<X-Device-UUID>`), so that content requests,
   * which carry no device header, are known by their device as device-management requests are. A replay's site does;
   * by default the URL is ConfigMgr's plain one, and content requests are known by file and range.
   */
  contentUrlsNameDevice?: boolean;
  /** SQLite database for status messages; ":memory:" (the default) keeps them only as long as the process. */
  statusDatabase?: string;
  logger?: Logger;
  /** Bounds against floods; each defaults to DEFAULT_SITE_LIMITS. */
  limits?: Partial<SiteLimits>;
  /** Require this bearer token on the admin API (and check its Host header): see admin-guard.ts. */
  adminToken?: string;
  /** Told of every device request answered (`serve --dashboard`). */
  onExchange?: ExchangeListener;
}

/** The parts of a site, built from its definition: what the routes serve, with nothing listening yet. */
export async function buildSite(options: Omit<SiteServerOptions, 'host' | 'port'>): Promise<SiteContext> {
  const now = options.now ?? Date.now;
  const catalog = await Catalog.fromDefinition(options.site, options.contentRoot, now);
  // The devices the site knows live in its status database, so targeted and received count the same population.
  const status = new StatusStore(options.statusDatabase);
  const limits = { ...DEFAULT_SITE_LIMITS, ...options.limits };
  const devices = new DeviceRegistry(status, limits);
  return {
    catalog,
    devices,
    policy: new Policy(catalog, devices),
    status,
    inventory: new InventoryStore(),
    faults: new FaultInjector(options.seed ?? 1),
    contentUrlsNameDevice: options.contentUrlsNameDevice ?? false,
    now,
    logger: options.logger ?? silentLogger(),
    limits,
    adminToken: options.adminToken ?? null,
  };
}

/**
 * The stub site as a fastify app (management point, distribution point, admin API), not listening: specs drive it
 * with `inject()`, and startSiteServer listens on it. The routes read the site's parts through `site` at request
 * time, so a restart can swap the status store under them.
 */
export function buildSiteApp(site: SiteContext, listenHost = '127.0.0.1'): FastifyInstance {
  const timeout = site.limits.requestTimeoutMs;
  const app = Fastify({
    logger: false,
    keepAliveTimeout: 30_000,
    requestTimeout: timeout,
    // Node looks for timed-out requests this often (30 s by default): often enough that the timeout holds.
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(100, timeout / 4)), headersTimeout: timeout },
  });
  capConnections(app, site.limits.maxConnections);
  // Fastify's own errors carry a code and usually a status; an Error a handler threw may carry neither.
  app.setErrorHandler((error: SiteError | (Error & Partial<FastifyError>), request, reply) => {
    if (error instanceof SiteError) return reply.code(error.status).send({ error: error.message, field: error.field, reason: error.reason });
    const status = error.statusCode ?? 500;
    if (status >= 500) site.logger.error('request failed', { url: request.url, error: error.message, stack: error.stack });
    return reply.code(status).send({ error: error.message, field: '(request)', reason: error.code ?? 'internal error' });
  });
  registerManagementPoint(app, site);
  registerDistributionPoint(app, site);
  // A scope of its own: the guard's hook runs on admin requests only, never on a device's.
  void app.register((admin, _options, done) => {
    registerAdminGuard(admin, site, listenHost);
    registerAdminApi(admin, site);
    done();
  });
  return app;
}

/**
 * At most `max` connections at once: one more is told 429 and closed, so a flood of sockets cannot take the
 * devices' place (Node's own maxConnections drops them without a word).
 */
function capConnections(app: FastifyInstance, max: number): void {
  let open = 0;
  app.server.on('connection', (socket: Socket) => {
    if (open >= max) {
      socket.end(
        'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 36\r\n\r\nconnection limit (--max-connections)',
      );
      return;
    }
    open++;
    socket.once('close', () => {
      open--;
    });
  });
}

export interface RunningSiteServer extends SiteContext {
  url: string;
  /** False while stopped: a site that is down refuses connections. */
  readonly listening: boolean;
  /** Goes down as a site would: stops listening and closes its status database. */
  stop(): Promise<void>;
  /**
   * Comes back on the same address with its objects, and its status database reopened: the status and the devices it
   * knew (with their tokens) that the database holds. A ":memory:" database comes back empty, devices included.
   */
  restart(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

/** Starts the stub site (management point, distribution point, status intake, admin API) on real HTTP. */
export async function startSiteServer(options: SiteServerOptions): Promise<RunningSiteServer> {
  const server = new SiteServer(options, await buildSite(options));
  await server.listen(options.port ?? 0);
  return server;
}

/** A site on a socket. Its parts are the context's; a restart reopens the status store and listens again. */
class SiteServer implements RunningSiteServer {
  readonly catalog: Catalog;
  readonly devices: DeviceRegistry;
  readonly policy: Policy;
  readonly inventory: InventoryStore;
  readonly faults: FaultInjector;
  readonly contentUrlsNameDevice: boolean;
  readonly now: () => number;
  readonly logger: Logger;
  readonly limits: SiteLimits;
  readonly adminToken: string | null;
  status: StatusStore;
  url = '';
  private app: FastifyInstance | null = null;

  constructor(
    private readonly options: SiteServerOptions,
    site: SiteContext,
  ) {
    this.catalog = site.catalog;
    this.devices = site.devices;
    this.policy = site.policy;
    this.inventory = site.inventory;
    this.faults = site.faults;
    this.contentUrlsNameDevice = site.contentUrlsNameDevice;
    this.now = site.now;
    this.logger = site.logger;
    this.limits = site.limits;
    this.adminToken = site.adminToken;
    this.status = site.status;
  }

  get listening(): boolean {
    return this.app !== null;
  }

  async listen(port: number): Promise<void> {
    const app = buildSiteApp(this, this.options.host ?? '127.0.0.1');
    if (this.options.onExchange) reportExchanges(app, this.options.onExchange);
    this.url = await app.listen({ host: this.options.host ?? '127.0.0.1', port });
    this.app = app;
    this.logger.info('site server listening', { url: this.url });
  }

  async stop(): Promise<void> {
    if (!this.app) return;
    const app = this.app;
    this.app = null;
    // Connections still open (keep-alive) are cut, as when a real site goes down.
    app.server.closeAllConnections();
    await app.close();
    this.status.close();
  }

  async restart(): Promise<void> {
    if (this.app) return;
    this.status = new StatusStore(this.options.statusDatabase);
    this.devices.attach(this.status);
    await this.listen(Number(new URL(this.url).port));
  }

  close(): Promise<void> {
    return this.stop();
  }
}
