/**
 * The device management point's job on status: a device reports download events about a device-management
 * package (11030-11036 with Parameters); the site records them as ConfigMgr advertisement status messages (10002,
 * 10005, 10006, 10008, 10018, 10022, 10037, 10050, 10057, ...) and per-item compliance, against the advertisement that
 * package stood for.
 */
import { COMPLIANCE_STATES, type ComplianceState } from '../domain/configuration-item.js';
import { DEVICE_MESSAGE, PARAMETER, REASON, type DeviceStatusMessage } from '../domain/device-status.js';
import { STATUS, type ComplianceResult, type StatusKey, type StatusMessage } from '../domain/status-message.js';

/** Who sent a message, and what its package id stands for. */
export interface StatusContext {
  deviceName: string;
  advertisementId: string;
  packageId: string;
  /** The program's command line, when the package has one: 10005 names it. */
  commandLine: string | null;
  /** The site offers the package again after this device's failed download (see Policy.retryFailedDownload). */
  retrying?: boolean;
}

export interface Translation {
  /** The device message's de-duplication key. */
  key: string;
  status: StatusMessage[];
  compliance: ComplianceResult[];
}

const EXTENSION_PARAMETERS = new Set<string>([PARAMETER.sequence]);

/** The ConfigMgr messages a device message stands for; an id or reason the site does not know gives none. */
function messagesFor(message: DeviceStatusMessage, context: StatusContext): StatusKey[] {
  const reason = message.parameters[PARAMETER.reason];
  switch (message.messageId) {
    case DEVICE_MESSAGE.downloadStarting:
      return ['downloadStarted'];
    case DEVICE_MESSAGE.downloadSucceeded:
      // A successful download starts the post-install command at once.
      return context.commandLine === null ? ['downloadSucceeded'] : ['downloadSucceeded', 'programStarted'];
    case DEVICE_MESSAGE.downloadFailed:
      if (reason === REASON.insufficientStorage) return ['contentTooLarge'];
      if (reason === REASON.contentMismatch) return ['downloadFailed', 'contentMismatch'];
      // The device's download task failed for good; the site will list the package again: Retrying.
      return context.retrying === true ? ['downloadFailed', 'programRetrying'] : ['downloadFailed'];
    case DEVICE_MESSAGE.executionFailed:
      return reason === REASON.maxRunTime ? ['maxRunTimeExceeded'] : ['programFailed'];
    case DEVICE_MESSAGE.packageRefused:
      if (reason === REASON.expired) return ['advertisementExpired'];
      if (reason === REASON.platform) return ['rejectedPlatform'];
      return [];
    case DEVICE_MESSAGE.executionSucceeded:
      return context.commandLine === null ? ['executionSucceeded'] : ['programSucceeded', 'executionSucceeded'];
    case DEVICE_MESSAGE.restartPending:
      return ['restartPending'];
    case DEVICE_MESSAGE.packageDeferred:
      return ['programWaiting'];
    default:
      return [];
  }
}

/**
 * Translates one device message. Record ids come from the device's Sequence parameter, so a message delivered
 * twice is stored once; a device that sends none (a documented client) is keyed by what it did send.
 */
export function translateStatus(message: DeviceStatusMessage, context: StatusContext): Translation {
  const sequence = message.parameters[PARAMETER.sequence];
  const key = `${context.deviceName}:${sequence ?? `${message.packageId}:${message.messageId}:${message.time}`}`;
  const details: Record<string, string> = {};
  const compliance: ComplianceResult[] = [];
  for (const [name, value] of Object.entries(message.parameters)) {
    if (name.startsWith(PARAMETER.configurationItemPrefix)) {
      const itemId = name.slice(PARAMETER.configurationItemPrefix.length);
      if (!(COMPLIANCE_STATES as readonly string[]).includes(value)) continue;
      compliance.push({ ...recordOf(context, `${key}/${itemId}`, message.time), itemId, state: value as ComplianceState });
    } else if (!EXTENSION_PARAMETERS.has(name)) {
      details[name] = value;
    }
  }
  const keys = messagesFor(message, context);
  const status = keys.map((status, index) => ({
    ...recordOf(context, keys.length === 1 ? key : `${key}/${index + 1}`, message.time),
    messageId: STATUS[status].id,
    details: status === 'programStarted' ? { CommandLine: context.commandLine ?? '' } : details,
  }));
  return { key, status, compliance };
}

/** 10002, recorded when the site hands a device the instructions of a package: one per device and revision. */
export function advertisementReceived(context: StatusContext, dmPackageId: string, time: number): StatusMessage {
  return { ...recordOf(context, `${context.deviceName}:received:${dmPackageId}`, time), messageId: STATUS.advertisementReceived.id, details: {} };
}

/** Will Not Rerun, recorded when the site decides not to offer a revision to a device: one per device and revision. */
export function willNotRerunRecord(context: StatusContext, dmPackageId: string, time: number): StatusMessage {
  return { ...recordOf(context, `${context.deviceName}:willNotRerun:${dmPackageId}`, time), messageId: STATUS.willNotRerun.id, details: {} };
}

function recordOf(context: StatusContext, id: string, time: number) {
  return { id, deviceId: context.deviceName, advertisementId: context.advertisementId, packageId: context.packageId, time };
}
