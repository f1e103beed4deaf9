import type { FastifyInstance } from 'fastify';
import { DISTRIBUTION_POINT_PATH } from '../protocol/wire.js';
import { faultBeforeHandling, sendAnswer, textAnswer, type DeviceAnswer } from './fault-delivery.js';
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

/** A content GET as the distribution point reads it: the path's package and file, its query, and its Range. */
export interface ContentRequest {
  packageId: string;
  file: string;
  query: Record<string, unknown>;
  range: string | undefined;
}

/**
 * The distribution point: package content as tar archives over plain HTTP (device clients do not use BITS),
 * with Range support so an interrupted download can resume.
 */
export function registerDistributionPoint(app: FastifyInstance, site: SiteContext): void {
  app.get<ContentRoute>(`${DISTRIBUTION_POINT_PATH}/:packageId/:file`, async (request, reply) => {
    const answer = await answerContent(site, { ...request.params, query: request.query, range: request.headers.range });
    return sendAnswer(reply, answer);
  });
}

/** The answer to a content GET: the archive, or the part its Range asks for, as any fault on Content leaves it. */
export async function answerContent(site: SiteContext, request: ContentRequest): Promise<DeviceAnswer> {
  const { packageId, file } = request;
  const version = /^(\d+)\.tar$/.exec(file)?.[1];
  const content = version === undefined ? undefined : site.catalog.contentOf(packageId, Number(version));
  if (!content) return textAnswer(404, `no content for ${packageId}/${file}`);

  const hit = site.faults.hit('Content', contentRequester(request.query, `${packageId}/${file}`, request.range), site.now());
  const refusal = await faultBeforeHandling(hit, 'Content');
  if (refusal) return refusal;

  const archive = content.archive;
  const headers: Record<string, string> = { 'accept-ranges': 'bytes', etag: `"${content.sha256}"` };
  const range = parseRange(request.range, archive.length);
  if (range === 'unsatisfiable')
    return { status: 416, contentType: TARBALL, headers: { ...headers, 'content-range': `bytes */${archive.length}` }, body: Buffer.alloc(0) };
  if (range === null) return { status: 200, contentType: TARBALL, headers, body: archive, fault: hit?.fault };
  return {
    status: 206,
    contentType: TARBALL,
    headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${archive.length}` },
    body: archive.subarray(range.start, range.end + 1),
    fault: hit?.fault,
  };
}

const TARBALL = 'application/x-tar';

/** A content GET's route: the package and file from the path, and the query (which may name the device, see contentUrl). */
interface ContentRoute {
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
