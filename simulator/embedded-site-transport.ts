import type { ContentResponse, SiteResponse, SiteTransport } from '../src/agent/site-transport.js';
import { DISTRIBUTION_POINT_PATH } from '../src/protocol/wire.js';
import { answerContent } from '../src/server/distribution-point.js';
import { beforeReset, bytesOf, spoiledBody, textAnswer, trickleSlices, type DeviceAnswer } from '../src/server/fault-delivery.js';
import { MANAGEMENT_POINT_PATHS, ManagementPoint } from '../src/server/management-point.js';
import type { RunningSiteServer } from '../src/server/site-server.js';

/**
 * A replay's fleet and its embedded site in one thread, without HTTP between them: each request (its method, path,
 * headers and document, byte for byte what would go over the wire) is handed to the site's management point or
 * distribution point, and the answer comes back as a response would. Faults reach the device as they would over a
 * socket: a reset is the error undici gives for a connection cut, a trickle takes its time, a site that is down
 * refuses the connection. Loopback HTTP cost more than both sides' work together (see README: Benchmarks), and a
 * replay measures the devices and the site, not the kernel's sockets; `run --over-http` keeps HTTP.
 */
export class EmbeddedSiteTransport implements SiteTransport {
  /** No sockets to wait for: a replay's devices reach the site as they ask. */
  readonly connections = Infinity;
  private readonly managementPoint: ManagementPoint;
  private readonly origin: string;
  private readonly address: { remoteAddress: string; localAddress: string; localPort: number };

  constructor(private readonly site: RunningSiteServer) {
    this.managementPoint = new ManagementPoint(site);
    const url = new URL(site.url);
    this.origin = url.origin;
    this.address = { remoteAddress: '127.0.0.1', localAddress: url.hostname, localPort: Number(url.port) };
  }

  async post(url: URL, headers: Record<string, string>, body: string): Promise<SiteResponse<string>> {
    this.connect(url);
    const request = { headers: lowerCased(headers, { host: url.host }), body: asSent(body), socket: this.address };
    const answer = MANAGEMENT_POINT_PATHS.includes(url.pathname) ? await this.managementPoint.answer(request) : notFound('POST', url);
    // A document answered in full is handed over as the text it is, not encoded and decoded again.
    const text = answer.fault === undefined && typeof answer.body === 'string' ? asSent(answer.body) : (await received(answer)).toString('utf8');
    return { status: answer.status, headers: headersOf(answer, Buffer.byteLength(text)), body: text };
  }

  async get(target: string, headers: Record<string, string>): Promise<ContentResponse> {
    const url = new URL(target);
    this.connect(url);
    const [packageId, file, ...more] = url.pathname.slice(DISTRIBUTION_POINT_PATH.length + 1).split('/');
    const answer =
      url.pathname.startsWith(`${DISTRIBUTION_POINT_PATH}/`) && packageId && file && more.length === 0
        ? await answerContent(this.site, { packageId, file, query: Object.fromEntries(url.searchParams), range: lowerCased(headers, {}).range })
        : notFound('GET', url);
    // Cut before its headers: no answer at all.
    if (answer.fault?.kind === 'reset' && beforeReset(bytesOf(answer.body)) === null) throw connectionCut();
    const { body, cutOff } = await arrived(answer);
    return { status: answer.status, headers: headersOf(answer, bytesOf(answer.body).length), body, cutOff };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** A request for another origin, or to a site that is down, is refused as a socket would refuse it. */
  private connect(url: URL): void {
    if (url.origin !== this.origin) throw new Error(`getaddrinfo ENOTFOUND ${url.hostname} (a replay reaches only its embedded site, ${this.origin})`);
    if (!this.site.listening) throw Object.assign(new Error(`connect ECONNREFUSED ${url.host}`), { code: 'ECONNREFUSED' });
  }
}

/** The error undici gives when the site cuts the connection. */
function connectionCut(cause?: unknown): Error {
  return Object.assign(new Error('other side closed', { cause }), { name: 'SocketError', code: 'UND_ERR_SOCKET' });
}

/** A management point answer's whole body as the device receives it, after any fault; rejects on a reset. */
async function received(answer: DeviceAnswer): Promise<Buffer> {
  if (answer.fault === undefined) return bytesOf(answer.body);
  const { body, cutOff } = await arrived(answer);
  if (cutOff) throw connectionCut(cutOff);
  return body;
}

/** What of an answer's body arrives, after any fault, and the connection's error if it was cut before the end. */
async function arrived(answer: DeviceAnswer): Promise<{ body: Buffer; cutOff: Error | null }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of bodyStream(answer)) chunks.push(chunk);
  } catch (error) {
    return { body: Buffer.concat(chunks), cutOff: error as Error };
  }
  return { body: Buffer.concat(chunks), cutOff: null };
}

/** The body as it arrives: at once, trickled, or cut off part way (a reset, after its headers when it has a body). */
async function* bodyStream(answer: DeviceAnswer): AsyncGenerator<Buffer> {
  const fault = answer.fault;
  if (fault?.kind === 'trickle') {
    yield* trickleSlices(bytesOf(answer.body), fault.bytesPerSecond);
    return;
  }
  if (fault?.kind === 'reset') {
    const sent = beforeReset(bytesOf(answer.body));
    if (sent !== null) yield sent;
    throw connectionCut();
  }
  yield spoiledBody(answer);
}

/**
 * Text as UTF-8 carries it: a lone surrogate (which UTF-8 cannot encode) arrives as U+FFFD, as it would through the
 * bytes of a request; any other text is the same string.
 */
const asSent = (text: string) => (LONE_SURROGATE.test(text) ? Buffer.from(text).toString('utf8') : text);
const LONE_SURROGATE = /\p{Cs}/u;

function headersOf(answer: DeviceAnswer, length: number): Record<string, string> {
  return { ...answer.headers, 'content-type': answer.contentType, 'content-length': String(length) };
}

function notFound(method: string, url: URL): DeviceAnswer {
  return textAnswer(404, `Route ${method}:${url.pathname} not found`);
}

/** The headers as Node gives a server them, names in lower case, added to `into`. */
function lowerCased(headers: Record<string, string>, into: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) into[name.toLowerCase()] = value;
  return into;
}
