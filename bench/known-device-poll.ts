import { identificationOf } from '../src/agent/device-identity.js';
import { SiteConnection, type Credentials, type PollAnswer } from '../src/agent/site-connection.js';
import { devicePoll } from '../src/protocol/documents/device-poll.js';
import { CLIENT_VERSION, HEADERS, MANAGEMENT_SYSTEM } from '../src/protocol/wire.js';
import { seededRandom } from '../src/random.js';
import { realClock } from '../src/time/clock.js';
import { drawProfiles, type FleetMix } from '../simulator/fleet-mix.js';

/** One device the site knows, and its documented DevicePoll as a peer load tool sends it again and again. */
export interface KnownDevicePoll {
  device: SiteConnection;
  credentials: Credentials;
  /** The answer to the device's first poll, which introduced it to the site. */
  first: PollAnswer;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Introduces a device named `name` (drawn from `mix`) to the site with a first poll, and returns its poll request. */
export async function knownDevicePoll(serverUrl: string, mix: FleetMix, name: string): Promise<KnownDevicePoll> {
  const device = new SiteConnection({ serverUrl, clock: realClock });
  const identification = identificationOf({ ...drawProfiles(mix, 1, seededRandom(1))[0]!, id: name });
  const first = await device.poll({ uuid: identification.id, auth: '', timestamp: '' }, identification);
  const credentials: Credentials = { uuid: identification.id, auth: first.auth ?? '', timestamp: first.timestamp ?? '' };
  return {
    device,
    credentials,
    first,
    url: device.url.href,
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      [HEADERS.uuid]: credentials.uuid,
      [HEADERS.auth]: credentials.auth,
      [HEADERS.timestamp]: credentials.timestamp,
      [HEADERS.clientVersion]: CLIENT_VERSION,
      [HEADERS.action]: 'Poll',
    },
    body: devicePoll.encode({
      managementSystem: MANAGEMENT_SYSTEM,
      identification,
      connection: { authorizationToken: credentials.auth, timestamp: credentials.timestamp },
    }),
  };
}
