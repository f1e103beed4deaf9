import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ADMIN_PATH } from '../../src/admin/contract.js';
import type { SiteDefinition } from '../../src/domain/site.js';
import type { StatusMessage } from '../../src/domain/status-message.js';
import { DEFAULT_DM_PATH } from '../../src/protocol/wire.js';
import type { SiteContext } from '../../src/server/site-context.js';
import { buildSite, buildSiteApp } from '../../src/server/site-server.js';
import { SimulatedClock } from '../../src/time/simulated-clock.js';
import { testSite, writePackageSources } from './test-site.js';

/** The methods the admin API answers. */
export type AdminMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * The Host every injected request carries, unless a spec sends another: the management point builds a package's
 * HTTP location from it, so the distribution point URLs a device is given start with `http://site.test`.
 */
export const SITE_HOST = 'site.test';

/** An answer from the management point, its body as text. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** An answer from the distribution point, its body as bytes. */
export interface Content {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** An answer from the admin API, shaped as axios gives it: `data` is the JSON body, or the text when it is not JSON. */
export interface AdminResponse<T> {
  status: number;
  data: T;
  headers: Record<string, string>;
}

/** A request to any route: a body sent exactly as given (no JSON encoding), these headers, these query parameters. */
export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Query parameters, as axios's `params`. */
  params?: Record<string, string>;
}

/** The admin API over inject, as the specs used an axios instance on `/admin`: any status resolves, bodies go as JSON. */
export interface AdminClient {
  get<T = unknown>(path: string, options?: Pick<RequestOptions, 'params'>): Promise<AdminResponse<T>>;
  post<T = unknown>(path: string, body?: unknown): Promise<AdminResponse<T>>;
  put<T = unknown>(path: string, body?: unknown): Promise<AdminResponse<T>>;
  patch<T = unknown>(path: string, body?: unknown): Promise<AdminResponse<T>>;
  delete<T = unknown>(path: string): Promise<AdminResponse<T>>;
}

/**
 * Header values as the site would read them off the wire: Node's HTTP parser drops a value's leading and trailing
 * blanks (and fetch does before sending); inject hands them over untouched.
 */
function wireHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace(/^[ \t]+|[ \t]+$/g, '')]));
}

/** A response's headers as fetch gives them. */
function headersOf(response: LightMyRequestResponse): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, String(item));
  }
  return headers;
}

/** Parses a body as axios does by default: JSON when it is JSON, the text otherwise (an empty body is ''). */
function dataOf(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

/**
 * The stub site built with buildSite and buildSiteApp, driven with `app.inject()`: no port is bound. Its clock is
 * simulated, as TestSite's is. Every request carries `host: site.test` unless the spec sends another Host.
 * Close it after each spec (fastify's guidance): that closes the app and the site's status database.
 */
export class InjectedSite {
  /** The origin injected requests reach: what the site puts in the distribution point URLs it hands out. */
  readonly url = `http://${SITE_HOST}`;
  readonly admin: AdminClient;

  private constructor(
    readonly clock: SimulatedClock,
    readonly context: SiteContext,
    readonly app: FastifyInstance,
  ) {
    this.admin = this.adminClient();
  }

  static async build(site: SiteDefinition = testSite()): Promise<InjectedSite> {
    const clock = new SimulatedClock();
    const context = await buildSite({ site, contentRoot: await writePackageSources(), now: () => clock.now() });
    return new InjectedSite(clock, context, buildSiteApp(context, SITE_HOST));
  }

  /**
   * One POST to the management point with exactly these headers (plus the Host, and the Content-Length of the
   * body, as fetch sends them), and the answer as text.
   */
  async post(headers: Record<string, string>, body: string | Buffer, path = DEFAULT_DM_PATH): Promise<Answer> {
    const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const response = await this.app.inject({
      method: 'POST',
      url: path,
      headers: { host: SITE_HOST, ...wireHeaders(headers), 'content-length': String(payload.length) },
      payload,
    });
    return { status: response.statusCode, headers: headersOf(response), body: response.body };
  }

  /**
   * A GET of distribution point content, optionally a byte range. `url` is a path, or a URL the site handed out: it
   * must be on this site's origin, and its path is what is injected, with its host as the Host header.
   */
  async download(url: string, range?: string): Promise<Content> {
    const target = new URL(url, this.url);
    if (target.origin !== this.url) throw new Error(`${url} is not on the injected site (${this.url})`);
    const response = await this.app.inject({
      method: 'GET',
      url: target.pathname + target.search,
      headers: { host: target.host, ...(range !== undefined && wireHeaders({ range })) },
    });
    return { status: response.statusCode, headers: headersOf(response), body: response.rawPayload };
  }

  /** The status messages the site recorded for a device and an advertisement, in the order it recorded them. */
  async messages(advertisementId: string, deviceId = 'WM-0001'): Promise<StatusMessage[]> {
    return (await this.admin.get<StatusMessage[]>('/status-messages', { params: { advertisementId, deviceId } })).data;
  }

  async messageIds(advertisementId: string, deviceId = 'WM-0001'): Promise<number[]> {
    return (await this.messages(advertisementId, deviceId)).map((m) => m.messageId);
  }

  /**
   * Puts the same app on a real socket, for the specs where the socket is the point (a request with no Host
   * header at all): its state is the one injected requests built up. Returns the URL it listens on.
   */
  async listen(): Promise<string> {
    return this.app.listen({ host: '127.0.0.1', port: 0 });
  }

  /** Closes the app (and any socket `listen` opened, keep-alive connections included) and the status database. */
  async close(): Promise<void> {
    if (this.app.server.listening) this.app.server.closeAllConnections();
    await this.app.close();
    this.context.status.close();
  }

  /**
   * Any request (the admin API's, mostly), its body sent exactly as given with a Content-Length as a client sends
   * it, and the answer as axios gives it.
   */
  async request<T = unknown>(method: AdminMethod, path: string, options: RequestOptions = {}): Promise<AdminResponse<T>> {
    const { body, headers = {}, params } = options;
    const response = await this.app.inject({
      method: method.toUpperCase() as Uppercase<AdminMethod>,
      url: path,
      headers: { host: SITE_HOST, ...wireHeaders(headers), ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }) },
      ...(body !== undefined && { payload: body }),
      ...(params !== undefined && { query: params }),
    });
    return {
      status: response.statusCode,
      data: dataOf(response.body) as T,
      headers: Object.fromEntries(Object.entries(response.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]]))),
    };
  }

  private adminClient(): AdminClient {
    const withJson = (body: unknown): RequestOptions =>
      body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
    return {
      get: <T>(path: string, options: RequestOptions = {}) => this.request<T>('get', ADMIN_PATH + path, options),
      post: <T>(path: string, body?: unknown) => this.request<T>('post', ADMIN_PATH + path, withJson(body)),
      put: <T>(path: string, body?: unknown) => this.request<T>('put', ADMIN_PATH + path, withJson(body)),
      patch: <T>(path: string, body?: unknown) => this.request<T>('patch', ADMIN_PATH + path, withJson(body)),
      delete: <T>(path: string) => this.request<T>('delete', ADMIN_PATH + path),
    };
  }
}
