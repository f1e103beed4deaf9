import Fastify, { type FastifyError } from 'fastify';
import type { SiteDefinition } from '../domain/site.js';
import { silentLogger, type Logger } from '../logging.js';
import { seededRandom, type Random } from '../random.js';
import { registerAdminApi } from './admin-api.js';
import { registerDistributionPoint } from './distribution-point.js';
import { FaultInjector } from './faults.js';
import { registerManagementPoint } from './management-point.js';
import type { SiteContext } from './site-context.js';
import { SiteError, SiteStore } from './site-store.js';
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
  /** Decides which requests a fault with a rate below 1 hits. */
  random?: Random;
  /** SQLite database for status messages; ":memory:" (the default) keeps them only as long as the process. */
  statusDatabase?: string;
  logger?: Logger;
}

export interface RunningSiteServer extends SiteContext {
  url: string;
  close(): Promise<void>;
}

/** Starts the stub site (management point, distribution point, status intake, admin API) on real HTTP. */
export async function startSiteServer(options: SiteServerOptions): Promise<RunningSiteServer> {
  const logger = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const site: SiteContext = {
    store: await SiteStore.fromDefinition(options.site, options.contentRoot, now),
    status: new StatusStore(options.statusDatabase),
    faults: new FaultInjector(options.random ?? seededRandom(1)),
    now,
    logger,
  };
  const app = Fastify({ logger: false, keepAliveTimeout: 30_000 });
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: FastifyError | SiteError, request, reply) => {
    if (error instanceof SiteError) return reply.code(error.status).send({ error: error.message, field: error.field, reason: error.reason });
    const status = error.statusCode ?? 500;
    if (status >= 500) logger.error('request failed', { url: request.url, error: error.message, stack: error.stack });
    return reply.code(status).send({ error: error.message, field: '(request)', reason: error.code ?? 'internal error' });
  });
  registerManagementPoint(app, site);
  registerDistributionPoint(app, site);
  registerAdminApi(app, site);

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  logger.info('site server listening', { url: address });
  return {
    ...site,
    url: address,
    close: async () => {
      await app.close();
      site.status.close();
    },
  };
}
