import type { FastifyInstance } from 'fastify';
import { configurationItemFile } from '../domain/configuration-item.js';
import { CONNECTION_CLASSES_OF_ASSIGNMENT } from '../domain/eligibility.js';
import { PACKAGE_TYPE } from '../domain/package.js';
import { programFlags } from '../domain/program.js';
import { devicePoll } from '../protocol/documents/device-poll.js';
import { instructions } from '../protocol/documents/instructions.js';
import { instructionsRequest } from '../protocol/documents/instructions-request.js';
import { packageLocation } from '../protocol/documents/package-location.js';
import { packageLocationRequest } from '../protocol/documents/package-location-request.js';
import { pollResponse } from '../protocol/documents/poll-response.js';
import { statusDocument } from '../protocol/documents/status.js';
import { ACTIONS, DEFAULT_DM_PATH, HEADERS, deviceTimestamp, type Action } from '../protocol/wire.js';
import { parseRoot, ProtocolError } from '../protocol/xml.js';
import { contentUrl } from './distribution-point.js';
import { faultBeforeHandling, sendAnswer, TEXT, textAnswer, type DeviceAnswer } from './fault-delivery.js';
import type { SiteContext } from './site-context.js';
import type { KnownDevice } from './device-registry.js';
import { SiteError } from './site-error.js';
import type { ReceivedMessage } from './status-store.js';
import { advertisementReceived, translateStatus, willNotRerunRecord } from './status-translation.js';
import type { WillNotRerun } from './policy.js';
import { DEVICE_MESSAGE, PARAMETER, REASON } from '../domain/device-status.js';

/** The message ids devices send (documented and ours): any other is refused. */
const KNOWN_DEVICE_MESSAGES: ReadonlySet<number> = new Set(Object.values(DEVICE_MESSAGE));

/** The path real devices use, and the documentation's spelling of it (`SvrFmt`'s example), which we honour too. */
export const MANAGEMENT_POINT_PATHS = [DEFAULT_DM_PATH, '/devicemgmt/server/aspx'];
const XML = 'text/xml; charset=utf-8';

/**
 * What the management point reads of a device's request, however it came: a fastify request over HTTP (its body
 * bytes), or a replay's request handed over in the same thread (its body the text those bytes decode to). Header
 * names are lower case, as Node gives them.
 */
export interface DeviceRequest {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | string;
  socket: { remoteAddress?: string | undefined; localAddress?: string | undefined; localPort?: number | undefined };
}

/** An answer: a document (or nothing, or a line of text), with response headers. */
interface Answer {
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * The device management point: one URL, dispatched on `X-Device-Action`. Bad input on a known action gets a 4xx
 * (400 for a document that does not decode, 401 for a device that has not polled or a wrong token). Actions and
 * report types it does not know are logged and answered 200, as the reference's minimal server does; a body whose
 * root is `Status` is taken as status whatever the action says.
 */
export class ManagementPoint {
  private readonly polls = new PollAnswers();

  constructor(private readonly site: SiteContext) {}

  async answer(request: DeviceRequest): Promise<DeviceAnswer> {
    const site = this.site;
    try {
      const uuid = request.headers[HEADERS.uuid];
      if (typeof uuid !== 'string' || uuid === '') throw new SiteError(400, 'X-Device-UUID', 'header is missing');
      const action = actionOf(request);
      // Who asked, and how often before: a fault's roll is the same whatever order devices' requests arrive in.
      const hit = action === null ? undefined : site.faults.hit(action, uuid, site.now());
      const refusal = await faultBeforeHandling(hit, String(action));
      if (refusal) return refusal;
      const answer = action === null ? unknownAction(request, site) : handle(action, uuid, request, site, this.polls);
      return { status: 200, contentType: answer.contentType ?? XML, headers: answer.headers ?? {}, body: answer.body, fault: hit?.fault };
    } catch (error) {
      if (error instanceof ProtocolError) return textAnswer(400, error.message);
      if (error instanceof SiteError) return textAnswer(error.status, error.message);
      throw error;
    }
  }
}

/** The management point's routes over HTTP. */
export function registerManagementPoint(app: FastifyInstance, site: SiteContext): void {
  const point = new ManagementPoint(site);
  void app.register(async (scope) => {
    // Devices' content types are not documented and not to be relied on: every body reaches the management point
    // as bytes, whatever it says it is (JSON included).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, body);
    });
    for (const path of MANAGEMENT_POINT_PATHS) {
      scope.post(path, async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        return sendAnswer(reply, await point.answer({ headers: request.headers, body, socket: request.socket }));
      });
    }
  });
}

/** The action a request names, or the one its body's root stands for; null when neither is known. */
function actionOf(request: DeviceRequest): Action | null {
  const header = request.headers[HEADERS.action];
  const named = ACTIONS.find((a) => typeof header === 'string' && a.toLowerCase() === header.toLowerCase());
  if (named) return named;
  try {
    return parseRoot('(unknown action)', bodyText(request)).name === 'Status' ? 'Status' : null;
  } catch {
    return null;
  }
}

function unknownAction(request: DeviceRequest, site: SiteContext): Answer {
  const action = String(request.headers[HEADERS.action] ?? '');
  site.logger.warn('unknown X-Device-Action', { action, uuid: request.headers[HEADERS.uuid] });
  return { body: `Unknown X-Device-Action field: ${action}`, contentType: TEXT };
}

function handle(action: Action, uuid: string, request: DeviceRequest, site: SiteContext, polls: PollAnswers): Answer {
  const body = bodyText(request);
  if (action === 'Poll') {
    const poll = devicePoll.decode(body);
    if (poll.identification.id !== uuid) site.logger.debug('Identification/ID differs from X-Device-UUID', { uuid, id: poll.identification.id });
    const device = site.devices.identify(uuid, poll.identification, site.now(), {
      authToken: headerOf(request, HEADERS.auth),
      source: request.socket.remoteAddress ?? '(unknown)',
    });
    return {
      body: polls.answer(site.catalog.policyVersion, packagesFor(device, site), () => site.catalog.settings),
      headers: { [HEADERS.auth]: device.authToken, [HEADERS.timestamp]: deviceTimestamp(site.now()) },
    };
  }
  const device = site.devices.authenticate(uuid, headerOf(request, HEADERS.auth));
  switch (action) {
    case 'InstructionRequest':
      return { body: instructionsFor(device, instructionsRequest.decode(body).packageId, site) };
    case 'LocationRequest':
      return { body: locationFor(device, packageLocationRequest.decode(body).packageId, request, site) };
    case 'Status':
      acceptStatus(device, body, site);
      return { body: '' };
    case 'Report':
      acceptReport(device, request, site);
      return { body: '' };
  }
}

/**
 * The packages a device should have, each revision as the advertisement's rerun setting allows for this device
 * (Policy.applicablePackages): a device that will not rerun one is recorded as Will Not Rerun.
 */
function packagesFor(device: KnownDevice, site: SiteContext): string[] {
  const willNotRerun = ({ advertisementId, dmPackageId }: WillNotRerun) => {
    const ad = site.catalog.advertisements.get(advertisementId);
    if (!ad) return;
    const context = contextOf(device, ad.id, ad.packageId, site.catalog.programOf(ad)?.commandLine);
    site.status.acceptStatus([willNotRerunRecord(context, dmPackageId, secondOf(site.now()))]);
  };
  return site.policy.applicablePackages(device, (advertisementId, deviceName) => site.status.lastStateOf(advertisementId, deviceName), willNotRerun);
}

function instructionsFor(device: KnownDevice, dmPackageId: string, site: SiteContext): string {
  const { ad, revision, pkg, program, content } = site.policy.offerTo(device, dmPackageId);
  site.status.acceptStatus([advertisementReceived(contextOf(device, ad.id, pkg.id, program?.commandLine), dmPackageId, secondOf(site.now()))]);
  const items = site.catalog.configurationItemsOf(pkg);
  return instructions.encode({
    id: dmPackageId,
    required: ad.mandatory,
    name: program?.name ?? pkg.name,
    shortDescription: ad.name,
    longDescription: `${pkg.name}, version ${pkg.version}`,
    packageSize: content.archive.length,
    flags: CONNECTION_CLASSES_OF_ASSIGNMENT[ad.assignment],
    startTime: Date.parse(ad.availableAt),
    recurrence: null,
    localDestination: `\\Temp\\${pkg.id}`,
    commandLine: program?.commandLine ?? '',
    sourceFiles: true,
    extension: {
      advertisement: { id: ad.id, name: ad.name, revision, expiresAt: ad.expiresAt === undefined ? null : Date.parse(ad.expiresAt) },
      content: { packageId: pkg.id, version: pkg.version, packageType: PACKAGE_TYPE[pkg.type], sha256: content.sha256 },
      program: program
        ? {
            name: program.name,
            flags: programFlags(program),
            maxRunTimeMinutes: program.maxRunTimeMinutes,
            platforms: program.platforms,
            successExitCodes: program.successExitCodes,
          }
        : null,
      configurationItems: items.map((item) => ({
        id: item.id,
        name: item.name,
        remediate: item.remediate,
        file: configurationItemFile(item.id),
        platforms: item.platforms,
      })),
    },
  });
}

function locationFor(device: KnownDevice, dmPackageId: string, request: DeviceRequest, site: SiteContext): string {
  const { content } = site.policy.offerTo(device, dmPackageId);
  const file = `${content.packageId}/${content.version}.tar`;
  return packageLocation.encode({
    packageId: dmPackageId,
    locations: [
      { metric: 1, smbPath: null, httpUrl: contentUrl(hostOf(request), file, device.uuid, site.contentUrlsNameDevice), directoryService: null, subnets: [] },
      // An SMB source as a real site lists it, behind the HTTP one: device clients download over HTTP.
      { metric: 2, smbPath: `\\\\MLC-DP01\\SMSPKGC$\\${content.packageId}`, httpUrl: null, directoryService: null, subnets: [] },
    ],
  });
}

/**
 * Takes a device's Status document. What the sender could not have been told to do is refused, not counted: a
 * message id the site does not know, or status about a package the site never listed to this device (another
 * device's, or none). Ids are the authenticated sender's own: its Sequence keys its records, not another's.
 */
function acceptStatus(device: KnownDevice, body: string, site: SiteContext): void {
  const { messages } = statusDocument.decode(body);
  const most = site.limits.maxStatusMessagesPerDocument;
  if (messages.length > most) throw new SiteError(413, 'Status/Message', `${messages.length} messages in one document; the site takes at most ${most}`);
  const received: ReceivedMessage[] = [];
  for (const message of messages) {
    if (!KNOWN_DEVICE_MESSAGES.has(message.messageId)) {
      throw new SiteError(400, 'Status/Message/ID', `message id ${message.messageId} is not one a device sends (${[...KNOWN_DEVICE_MESSAGES].join(', ')})`);
    }
    const ad = site.policy.listedTo(device, message.packageId);
    if (!ad) {
      site.logger.warn('status about a package this site never listed to the device', {
        device: device.name,
        packageId: message.packageId,
        messageId: message.messageId,
      });
      continue;
    }
    const program = site.catalog.programOf(ad);
    // A download the device gave up on (a one-shot task whose retries ran out) is offered again if the rerun setting allows.
    const retrying =
      message.messageId === DEVICE_MESSAGE.downloadFailed &&
      message.parameters[PARAMETER.reason] === REASON.downloadInterrupted &&
      site.policy.retryFailedDownload(device, message.packageId);
    const records = translateStatus(message, { ...contextOf(device, ad.id, ad.packageId, program?.commandLine), retrying });
    received.push({ key: records.key, message, records });
  }
  site.status.acceptDeviceStatus(device.name, received);
}

function acceptReport(device: KnownDevice, request: DeviceRequest, site: SiteContext): void {
  const type = String(request.headers[HEADERS.reportType] ?? '');
  const now = site.now();
  switch (type.toLowerCase()) {
    case 'machineinventory':
      site.inventory.recordMachine(device.name, now, bodyText(request));
      return;
    case 'softwareinventory':
      site.inventory.recordSoftware(device.name, now, bodyText(request));
      return;
    case 'filecollection': {
      const name = headerOf(request, HEADERS.fileName);
      if (!name) throw new SiteError(400, 'X-Device-FullyQualifiedFilename', 'header is missing');
      site.inventory.recordFile(device.name, now, name, typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.length);
      return;
    }
    default:
      site.logger.warn('unknown X-Device-ReportType', { device: device.name, type });
  }
}

function contextOf(device: KnownDevice, advertisementId: string, packageId: string, commandLine: string | undefined) {
  return { deviceName: device.name, advertisementId, packageId, commandLine: commandLine ?? null };
}

/** Device timestamps have whole seconds: the site's own records about a device are stamped the same way. */
const secondOf = (ms: number) => Math.floor(ms / 1000) * 1000;

/** The address the device reached: its Host header, or the socket's own address for a request without one. */
function hostOf(request: DeviceRequest): string {
  return headerOf(request, 'host') ?? `${request.socket.localAddress}:${request.socket.localPort}`;
}

function headerOf(request: DeviceRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function bodyText(request: DeviceRequest): string {
  return typeof request.body === 'string' ? request.body : request.body.toString('utf8');
}

/**
 * Poll answers, encoded once per policy version and package list: most devices of a site share a handful of
 * lists, and an unchanged site answers every poll with a document it already has.
 */
class PollAnswers {
  private version = -1;
  private readonly answers = new Map<string, string>();

  answer(version: number, packages: string[], settings: () => SiteContext['catalog']['settings']): string {
    if (version !== this.version) {
      this.answers.clear();
      this.version = version;
    }
    const key = packages.join(',');
    let answer = this.answers.get(key);
    if (answer === undefined) {
      const s = settings();
      answer = pollResponse.encode({
        client: s.client,
        softwareInventory: s.softwareInventory,
        fileCollection: s.fileCollection,
        machineInventory: s.machineInventory,
        packages,
      });
      this.answers.set(key, answer);
    }
    return answer;
  }
}
