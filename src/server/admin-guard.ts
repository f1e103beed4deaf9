import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SiteContext } from './site-context.js';

/** Host names a loopback listener answers to: a page on another name (DNS rebinding) does not reach the admin API. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether an address given to `--host` is this machine's loopback only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Guards the admin API (`app` is its scope, so only its routes run the hook), which can replace package content and inject faults. Always: its Host header must name
 * the address the site listens on (or a loopback name), so a browser page that rebinds its own name to this
 * machine is refused (403). When the site has an admin token (it must, off loopback): `Authorization: Bearer`
 * with that token, or 401.
 */
export function registerAdminGuard(app: FastifyInstance, site: SiteContext, listenHost: string): void {
  const allowedHosts = new Set([...LOOPBACK_HOSTS, listenHost.includes(':') ? `[${listenHost}]` : listenHost]);
  const anyHost = listenHost === '0.0.0.0' || listenHost === '::';
  app.addHook('onRequest', async (request, reply) => {
    const host = hostName(request.headers.host ?? '');
    if (!anyHost && !allowedHosts.has(host)) {
      return reply.code(403).send({ error: `Host ${host || '(none)'} is not this site's`, field: 'Host', reason: 'not an address the site listens on' });
    }
    if (site.adminToken !== null && !bearerMatches(request.headers.authorization, site.adminToken)) {
      return reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer')
        .send({ error: 'the admin API needs its token', field: 'Authorization', reason: 'Bearer token missing or wrong (see --admin-token)' });
    }
  });
}

/** The host name of a Host header, without its port. */
function hostName(header: string): string {
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : (header.split(':')[0] ?? '');
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(header?.startsWith('Bearer ') === true ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
