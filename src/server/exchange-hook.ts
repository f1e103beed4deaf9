import type { FastifyInstance } from 'fastify';
import { DISTRIBUTION_POINT_PATH, HEADERS } from '../protocol/wire.js';
import { ADMIN_PATH } from '../admin/contract.js';

/** Told of every device request the site answered: endpoint named as the fleet names it, milliseconds, success. */
export type ExchangeListener = (endpoint: string, ms: number, ok: boolean) => void;

/**
 * Tells `listener` of each device request once answered (the admin API's are not device requests): a device action,
 * `Report/<type>` for a report, or `Content` for a download, as a fleet's latency table names them.
 */
export function reportExchanges(app: FastifyInstance, listener: ExchangeListener): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith(ADMIN_PATH)) return;
    const header = (name: string) => {
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const action = request.url.startsWith(DISTRIBUTION_POINT_PATH) ? 'Content' : (header(HEADERS.action) ?? 'unnamed');
    const reportType = header(HEADERS.reportType);
    listener(reportType ? `${action}/${reportType}` : action, reply.elapsedTime, reply.statusCode < 400);
  });
}
