import type { FastifyInstance, FastifyReply } from 'fastify';
import { DISTRIBUTION_POINT_PATH } from '../protocol/documents.js';
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
  app.get<{ Params: { packageId: string; file: string } }>(`${DISTRIBUTION_POINT_PATH}/:packageId/:file`, async (request, reply) => {
    const { packageId, file } = request.params;
    const version = /^(\d+)\.tar$/.exec(file)?.[1];
    const content = version === undefined ? undefined : site.store.contentOf(packageId, Number(version));
    if (!content) return notFound(reply, `no content for ${packageId}/${file}`);

    let body = content.archive;
    const fault = site.faults.hit('Content', site.now());
    if (fault?.kind === 'http-error') return reply.code(fault.status).type('text/plain').send(`fault ${fault.id} injected on Content`);
    if (fault?.kind === 'corrupt-content') body = corrupt(body);
    if (fault?.kind === 'truncate-content') body = body.subarray(0, Math.floor(body.length / 2));

    reply.header('accept-ranges', 'bytes').header('etag', `"${content.sha256}"`).type('application/x-tar');
    const range = parseRange(request.headers.range, body.length);
    if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${body.length}`).send();
    if (range === null) return reply.code(200).send(body);
    return reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${body.length}`)
      .send(body.subarray(range.start, range.end + 1));
  });
}

/** Flips every 512th byte: same length, a different hash, and tar headers that no longer check out. */
function corrupt(archive: Buffer): Buffer {
  const copy = Buffer.from(archive);
  for (let i = 0; i < copy.length; i += 512) copy[i] = copy[i]! ^ 0xff;
  return copy;
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).type('text/plain').send(message);
}
