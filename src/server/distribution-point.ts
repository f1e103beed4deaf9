import type { FastifyInstance, FastifyReply } from 'fastify';
import { DISTRIBUTION_POINT_PATH } from '../protocol/wire.js';
import { deliver, faultBeforeHandling } from './fault-delivery.js';
import type { ActiveFault } from '../admin/contract.js';
import type { SiteContext } from './site-context.js';

/** Parses a single `bytes=` range against a body of `size` bytes; null when absent, 'unsatisfiable' when out of range. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (match[1] === '') {
    // Suffix range: the last N bytes.
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

/**
 * The distribution point: package content as tar archives over plain HTTP (device clients do not use BITS),
 * with Range support so an interrupted download can resume.
 */
export function registerDistributionPoint(app: FastifyInstance, site: SiteContext): void {
  app.get<ContentRequest>(`${DISTRIBUTION_POINT_PATH}/:packageId/:file`, async (request, reply) => {
    const { packageId, file } = request.params;
    const version = /^(\d+)\.tar$/.exec(file)?.[1];
    const content = version === undefined ? undefined : site.catalog.contentOf(packageId, Number(version));
    if (!content) return notFound(reply, `no content for ${packageId}/${file}`);

    const hit = site.faults.hit('Content', contentRequester(request.query, `${packageId}/${file}`, request.headers.range), site.now());
    const refuse = (status: number, fault: ActiveFault) => reply.code(status).type('text/plain').send(`fault ${fault.id} injected on Content`);
    if (await faultBeforeHandling(hit, reply, refuse)) return reply;

    const archive = content.archive;
    reply.header('accept-ranges', 'bytes').header('etag', `"${content.sha256}"`);
    const range = parseRange(request.headers.range, archive.length);
    if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${archive.length}`).send();
    if (range === null) return deliver(reply.code(200), hit?.fault, 'application/x-tar', archive);
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${archive.length}`);
    return deliver(reply, hit?.fault, 'application/x-tar', archive.subarray(range.start, range.end + 1));
  });
}

/** A content GET: the package and file from the path, and the query (which may name the device, see contentUrl). */
interface ContentRequest {
  Params: { packageId: string; file: string };
  Querystring: Record<string, unknown>;
}

/** The query parameter that names the device in a content URL the site handed out (see contentUrl). */
const DEVICE_PARAMETER = 'device';

/**
 * The URL of a package's content for a device. A content GET carries no device header, so when the site is asked to
 * (`nameDevice`, as a replay's site is) the URL names the device it was given to: any client downloads the URL its
 * PackageLocation gives, as it is, so the GET names its device whoever wrote the client. Otherwise it is the plain
 * `/SMS_DP_SMSPKG$/<package>/<version>.tar` a ConfigMgr site gives.
 */
export function contentUrl(host: string, file: string, device: string, nameDevice: boolean): string {
  const url = `http://${host}${DISTRIBUTION_POINT_PATH}/${file}`;
  return nameDevice ? `${url}?${DEVICE_PARAMETER}=${encodeURIComponent(device)}` : url;
}

/**
 * Who made a content request, for the fault rolls: the device its URL names, or else (a plain URL) the file and the
 * Range asked for, so that such requests are counted per file and range.
 */
function contentRequester(query: Record<string, unknown>, file: string, range: string | undefined): string {
  const device = query[DEVICE_PARAMETER];
  return typeof device === 'string' && device !== '' ? device : `${file} ${range ?? ''}`;
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).type('text/plain').send(message);
}
