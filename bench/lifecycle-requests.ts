// One device's full lifecycle as the HTTP requests it made, in order, to be sent again by autocannon on behalf of
// devices the site knows: the peer's side of the fleet's lifecycle figure.
import { setTimeout as sleep } from 'node:timers/promises';
import { SiteConnection } from '../src/agent/site-connection.js';
import type { ContentResponse } from '../src/agent/site-transport.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { silentLogger } from '../src/logging.js';
import { HEADERS } from '../src/protocol/wire.js';
import { seededRandom } from '../src/random.js';
import { EagerClock } from '../src/time/eager-clock.js';
import { drawProfiles } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { knownDevicePoll } from './known-device-poll.js';
import { POLL_MIX } from './poll-mix.js';

export interface LifecycleRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A device the site knows, as its requests name it. */
interface KnownDevice {
  uuid: string;
  auth: string;
  timestamp: string;
}

/** A SiteConnection that also notes each content download, which the wire hook (device management only) leaves out. */
class RecordingConnection extends SiteConnection {
  readonly requests: LifecycleRequest[] = [];

  override download(url: string, from: number): Promise<ContentResponse> {
    const target = new URL(url);
    if (target.origin !== this.url.origin) throw new Error(`the package's source ${url} is not on the site ${this.url.origin}`);
    this.requests.push({ method: 'GET', path: target.pathname + target.search, headers: {} });
    return super.download(url, from);
  }
}

/** Rejects with `what` when `promise` has not settled within `ms`: a bench that hangs tells nothing. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timeout.signal }).then(() => {
        throw new Error(`${what}: no end after ${ms / 1000} s`);
      }),
    ]);
  } finally {
    timeout.abort();
  }
}

/**
 * The requests of one fresh device's lifecycle (poll, instructions, location, download, status, inventory), from its
 * first poll to the one that begins its next cycle. The device runs on the eager clock and is named `name`.
 */
export async function captureLifecycle(serverUrl: string, name: string): Promise<{ uuid: string; requests: LifecycleRequest[] }> {
  const connection = new RecordingConnection({
    serverUrl,
    clock: new EagerClock(),
    onWire: ({ request }) =>
      connection.requests.push({ method: 'POST', path: connection.url.pathname + connection.url.search, headers: request.headers, body: request.body }),
  });
  const random = seededRandom(1);
  const profiles = drawProfiles(POLL_MIX, 1, random.fork()).map((profile) => ({ ...profile, id: name }));
  const fleet = new Fleet({ profiles, site: sitePortOf(connection), random, logger: silentLogger(), staggerMs: 0, dormancy: false });
  const polls = () => connection.requests.filter((r) => r.headers[HEADERS.action] === 'Poll').length;
  try {
    await within(
      30_000,
      'one device lifecycle',
      (async () => {
        while (polls() < 2) await sleep(5);
      })(),
    );
  } finally {
    fleet.stop();
    await connection.close();
  }
  const next = connection.requests.findIndex((r, i) => i > 0 && r.headers[HEADERS.action] === 'Poll');
  const requests = connection.requests.slice(0, next);
  return { uuid: requests[0]!.headers[HEADERS.uuid]!, requests };
}

/** Introduces `count` devices to the site, one first poll each, for a peer to speak for. */
export async function introduceDevices(serverUrl: string, count: number, prefix: string): Promise<KnownDevice[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const { device, credentials } = await within(30_000, 'a first poll', knownDevicePoll(serverUrl, POLL_MIX, `${prefix}-${i + 1}`));
      await device.close();
      return credentials;
    }),
  );
}

/** `lifecycle`'s requests as `device` would make them: its UUID (headers and documents) and its token. */
export function requestsOf(lifecycle: { uuid: string; requests: LifecycleRequest[] }, device: KnownDevice): LifecycleRequest[] {
  return lifecycle.requests.map(({ method, path, headers, body }) =>
    method === 'GET'
      ? { method, path, headers }
      : {
          method,
          path,
          headers: { ...headers, [HEADERS.uuid]: device.uuid, [HEADERS.auth]: device.auth, [HEADERS.timestamp]: device.timestamp },
          body: body?.split(lifecycle.uuid).join(device.uuid),
        },
  );
}
