import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  complianceReport,
  DEVICE_ACTIONS,
  DEVICE_MANAGEMENT_PATH,
  DISTRIBUTION_POINT_PATH,
  errorDocument,
  HEADERS,
  instructionRequest,
  instructionResponse,
  packageLocationRequest,
  packageLocationResponse,
  pollRequest,
  pollResponse,
  ProtocolError,
  registrationRequest,
  registrationResponse,
  REPORT_TYPES,
  reportResponse,
  statusReport,
  type DeviceAction,
} from '../protocol/documents.js';
import { deliver, faultBeforeHandling } from './fault-delivery.js';
import type { SiteContext } from './site-context.js';
import { SiteError } from './site-store.js';

/**
 * The device management point: one URL, dispatched on `X-Device-Action`, XML in and out. It never answers a
 * device with 5xx for the device's own mistakes: bad documents get 400, unknown devices 401, with an Error document.
 */
export function registerManagementPoint(app: FastifyInstance, site: SiteContext): void {
  app.post(DEVICE_MANAGEMENT_PATH, async (request, reply) => {
    try {
      const action = header(request, HEADERS.action);
      if (!DEVICE_ACTIONS.includes(action as DeviceAction)) {
        throw new SiteError(400, 'X-Device-Action', `"${action}" is not one of ${DEVICE_ACTIONS.join(', ')}`);
      }
      const fault = site.faults.hit(action as DeviceAction, site.now());
      const refuse = (status: number) => sendError(reply, status, 'InjectedFault', `fault ${fault!.id} injected on ${action}`);
      if (await faultBeforeHandling(fault, site.faults, reply, refuse)) return reply;
      return await deliver(reply.code(200), fault, XML, Buffer.from(handle(action as DeviceAction, request, site)));
    } catch (error) {
      if (error instanceof ProtocolError) return sendError(reply, 400, 'BadDocument', error.message);
      if (error instanceof SiteError) return sendError(reply, error.status, 'Rejected', error.message);
      throw error;
    }
  });
}

function handle(action: DeviceAction, request: FastifyRequest, site: SiteContext): string {
  const { store, status } = site;
  if (action === 'Register') {
    const { device: identity } = registrationRequest.decode(request.body);
    if (identity.uuid !== header(request, HEADERS.uuid)) throw new SiteError(400, 'Device.UUID', 'does not match X-Device-UUID');
    return registrationResponse.encode({ authToken: store.register(identity, site.now()).authToken });
  }
  const device = store.authenticate(request.headers[HEADERS.uuid] as string | undefined, request.headers[HEADERS.auth] as string | undefined);
  switch (action) {
    case 'Poll': {
      const { policyVersion } = pollRequest.decode(request.body);
      device.lastPollAt = site.now();
      // An unchanged policy costs the site a version compare, not a membership evaluation.
      const unchanged = policyVersion === store.policyVersion;
      return pollResponse.encode({
        policyVersion: store.policyVersion,
        unchanged,
        settings: store.settings,
        offers: unchanged ? [] : store.offersFor(device),
      });
    }
    case 'InstructionRequest':
      return instructionResponse.encode(store.instructionFor(device, instructionRequest.decode(request.body).advertisementId));
    case 'PackageLocationRequest': {
      const { packageId, version } = packageLocationRequest.decode(request.body);
      if (!store.contentOf(packageId, version)) throw new SiteError(404, 'Package', `no content for package ${packageId} version ${version}`);
      return packageLocationResponse.encode({
        sources: [
          // An SMB source as a real site lists it; device clients download over HTTP, so they skip it.
          { type: 'SMB', metric: 1, location: `\\\\MLC-DP01\\SMSPKGC$\\${packageId}` },
          { type: 'HTTP', metric: 2, location: `http://${request.headers.host}${DISTRIBUTION_POINT_PATH}/${packageId}/${version}.tar` },
        ],
      });
    }
    case 'Report': {
      const type = header(request, HEADERS.reportType);
      if (type === 'ComplianceReport') return reportResponse.encode(status.acceptCompliance(complianceReport.decode(device.identity.uuid, request.body).results));
      if (type === 'DownloadEventStatus' || type === 'SoftwareDistributionStatus') {
        return reportResponse.encode(status.acceptStatus(statusReport.decode(type, device.identity.uuid, request.body).messages));
      }
      throw new SiteError(400, 'X-Device-Reporttype', `"${type}" is not one of ${REPORT_TYPES.join(', ')}`);
    }
  }
}

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string' || value === '') throw new SiteError(400, name, 'header is missing');
  return value;
}

const XML = 'application/xml; charset=utf-8';

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type(XML).send(errorDocument.encode({ code, message }));
}
