/**
 * The Windows CE device management wire protocol, shared by the agent and the stub site server.
 *
 * Every exchange is an HTTP POST of an XML document with `X-Device-*` headers (see ../shared/reference and the
 * README's "Wire protocol" section, which lists where we extend the documented protocol in the same style).
 * Each document has one typed encoder and one validating decoder; a decoder failure names the document and field.
 */
import { parseXml, XmlElement, XmlError } from '@rgrove/parse-xml';
import { XMLBuilder } from 'fast-xml-parser';
import { z } from 'zod';
import { COMPLIANCE_STATES, configurationItemSchema, type ConfigurationItem } from '../domain/configuration-item.js';
import { formatInterval, parseInterval, type ClientSettings } from '../domain/client-settings.js';
import { platformSchema, type Platform } from '../domain/platform.js';
import { issuePath } from '../domain/validation.js';
import type { ComplianceResult, StatusMessage } from '../domain/status-message.js';

export const NAMESPACE = 'http://www.microsoft.com/DeviceManagement.xsd';
export const CLIENT_NAME = 'SMS Device Management';
export const CLIENT_VERSION = '2.5.0.0';

/** Unverified on a real site: the URL path of the device management point and of package content. */
export const DEVICE_MANAGEMENT_PATH = '/DeviceManagement';
export const DISTRIBUTION_POINT_PATH = '/SMS_DP_SMSPKG$';

export const HEADERS = {
  uuid: 'x-device-uuid',
  auth: 'x-device-auth',
  timestamp: 'x-device-timestamp',
  action: 'x-device-action',
  reportType: 'x-device-reporttype',
} as const;

export const DEVICE_ACTIONS = ['Register', 'Poll', 'InstructionRequest', 'PackageLocationRequest', 'Report'] as const;
export type DeviceAction = (typeof DEVICE_ACTIONS)[number];

export const REPORT_TYPES = ['DownloadEventStatus', 'SoftwareDistributionStatus', 'ComplianceReport'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

/** A document that did not decode: which document, which field, and why. */
export class ProtocolError extends Error {
  constructor(
    readonly document: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${document}: ${field || '(document)'}: ${reason}`);
    this.name = 'ProtocolError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Typed documents

export interface DeviceIdentity {
  uuid: string;
  name: string;
  platform: Platform;
  osVersion: string;
}

export interface RegistrationRequest {
  device: DeviceIdentity;
}
export interface RegistrationResponse {
  authToken: string;
}

export interface PollRequest {
  /** The policy version the device last applied; null on the first poll. */
  policyVersion: number | null;
}

/** One advertisement the device is targeted by, as listed in a Poll Response. */
export interface Offer {
  advertisementId: string;
  packageId: string;
  packageVersion: number;
  /** Changes whenever the advertisement, its package or program changes: a changed offer runs again. */
  revision: number;
}

export interface PollResponse {
  policyVersion: number;
  /** The device already holds this policy version; `offers` is empty. */
  unchanged: boolean;
  settings: ClientSettings;
  offers: Offer[];
}

export interface InstructionRequest {
  advertisementId: string;
}

export interface InstructionResponse {
  advertisement: {
    id: string;
    name: string;
    revision: number;
    mandatory: boolean;
    availableAt: number;
    expiresAt: number | null;
    deviceFlags: number;
  };
  package: {
    id: string;
    name: string;
    version: number;
    packageType: number;
    size: number;
    sha256: string;
  };
  program: {
    name: string;
    commandLine: string;
    flags: number;
    platforms: Platform[];
    maxRunTimeMinutes: number;
    successExitCodes: number[];
  } | null;
  configurationItems: ConfigurationItem[];
}

export interface PackageLocationRequest {
  packageId: string;
  version: number;
}
export interface ContentSource {
  type: 'HTTP' | 'SMB';
  metric: number;
  location: string;
}
export interface PackageLocationResponse {
  sources: ContentSource[];
}

export interface StatusReport {
  messages: StatusMessage[];
}
export interface ComplianceReport {
  results: ComplianceResult[];
}
export interface ReportResponse {
  accepted: number;
  duplicates: number;
}

export interface ErrorDocument {
  code: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------------
// XML plumbing

/** Attributes are grouped under `$` so each schema below reads like the XML it describes. */
const $ = '$';
/** Elements that may repeat, wherever they appear; they always decode as arrays, even with one element. */
const LIST_ELEMENTS = new Set(['Source', 'StatusMessage', 'Platform', 'ExitCode', 'ConfigurationItem', 'Setting', 'Detail', 'Result']);
/** `Package` repeats in these documents only (the parent's path); an Instruction Response has exactly one. */
const PACKAGE_LISTS = new Set(['PollResponse.Packages', 'PackageLocationRequest']);

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '', attributesGroupName: $, suppressEmptyNode: true, suppressBooleanAttributes: false });

type XmlNode = Record<string, unknown>;

function toXml(root: string, attributes: XmlNode, children: XmlNode = {}): string {
  return `<?xml version="1.0" encoding="utf-8"?>${builder.build({ [root]: { [$]: { xmlns: NAMESPACE, ...attributes }, ...children } })}`;
}

function repeats(element: XmlElement): boolean {
  if (LIST_ELEMENTS.has(element.name)) return true;
  if (element.name !== 'Package') return false;
  const parent = element.parent as XmlElement;
  const path = parent.parent instanceof XmlElement ? `${parent.parent.name}.${parent.name}` : parent.name;
  return PACKAGE_LISTS.has(path);
}

/**
 * An element as the schemas read it: attributes under `$`, child elements by name (an array for a list element or
 * one that repeats), and an element with neither as its trimmed text (`<Packages/>` is ""). Text beside attributes
 * or child elements carries nothing in this protocol and is dropped.
 */
function nodeOf(element: XmlElement): unknown {
  const node: XmlNode = {};
  let structured = Object.keys(element.attributes).length > 0;
  if (structured) node[$] = element.attributes;
  for (const child of element.children) {
    if (!(child instanceof XmlElement)) continue;
    structured = true;
    const value = nodeOf(child);
    const existing = node[child.name];
    if (existing === undefined) node[child.name] = repeats(child) ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else node[child.name] = [existing, value];
  }
  return structured ? node : element.text.trim();
}

/**
 * Parses `xml`, checks its root element, and validates the root's content with `schema`. The parser is a conforming
 * one: a document that is not well-formed (a missing end tag, a duplicate attribute, an undefined entity, content
 * after the root) is refused with its line and column.
 */
function fromXml<T>(root: string, xml: unknown, schema: z.ZodType<T>): T {
  if (typeof xml !== 'string' || xml.trim() === '') throw new ProtocolError(root, '', 'body is empty or not text');
  let element: XmlElement;
  try {
    element = parseXml(xml).root!;
  } catch (error) {
    const field = error instanceof XmlError ? `line ${error.line}` : '';
    throw new ProtocolError(root, field, `not well-formed XML: ${(error as Error).message}`);
  }
  if (element.name !== root) {
    const detail = element.name === 'Error' ? `; the peer answered Error ${element.attributes.Code}: ${element.attributes.Message}` : '';
    throw new ProtocolError(root, '', `expected root element <${root}>, got <${element.name}>${detail}`);
  }
  const content = nodeOf(element);
  const result = schema.safeParse(content === '' ? {} : content);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ProtocolError(root, issuePath(issue).map((p) => (p === $ ? '@' : String(p))).join('.').replace('@.', '@'), issue.message);
  }
  return result.data;
}

const text = z.string();
const int = z.string().regex(/^-?\d+$/, 'must be an integer').transform(Number);
const hexOrInt = z.string().regex(/^(0x[0-9a-fA-F]+|\d+)$/, 'must be an integer or 0x hex').transform(Number);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const instant = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 time').transform((v) => Date.parse(v));
const interval = z.string().transform((v, ctx) => {
  try {
    return parseInterval(v);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
/** An element whose content is only attributes. */
const attrs = <T extends z.ZodRawShape>(shape: T) => z.object({ [$]: z.object(shape) });
/** The repeated `element` children of a container element that may be empty (`<Packages/>` parses as ""). */
const list = <T extends z.ZodType>(element: string, item: T) =>
  z.preprocess((v) => (typeof v === 'object' && v !== null ? ((v as XmlNode)[element] ?? []) : []), z.array(item));
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const iso = (ms: number) => new Date(ms).toISOString();
const CLIENT = { Client: { [$]: { Name: CLIENT_NAME, Version: CLIENT_VERSION } } };

// ---------------------------------------------------------------------------------------------------------------
// Documents, one encoder and one decoder each

const deviceRegistrationSchema = z
    .object({ Device: attrs({ UUID: text.min(1), Name: text, Platform: platformSchema, OSVersion: text }) })
    .transform(({ Device: { $: d } }) => ({ device: { uuid: d.UUID, name: d.Name, platform: d.Platform, osVersion: d.OSVersion } }));

export const registrationRequest = {
  encode: (doc: RegistrationRequest) =>
    toXml('DeviceRegistration', {}, {
      ...CLIENT,
      Device: { [$]: { UUID: doc.device.uuid, Name: doc.device.name, Platform: doc.device.platform, OSVersion: doc.device.osVersion } },
    }),
  decode: (xml: unknown): RegistrationRequest => fromXml('DeviceRegistration', xml, deviceRegistrationSchema),
};

const registrationResponseSchema = z.object({ Auth: attrs({ Token: text.min(1) }) }).transform((d) => ({ authToken: d.Auth.$.Token }));

export const registrationResponse = {
  encode: (doc: RegistrationResponse) => toXml('RegistrationResponse', {}, { Auth: { [$]: { Token: doc.authToken } } }),
  decode: (xml: unknown): RegistrationResponse => fromXml('RegistrationResponse', xml, registrationResponseSchema),
};

const devicePollSchema = z.object({ PolicyVersion: int.optional() }).transform((d) => ({ policyVersion: d.PolicyVersion ?? null }));

export const pollRequest = {
  encode: (doc: PollRequest) => toXml('DevicePoll', {}, { ...CLIENT, ...(doc.policyVersion === null ? {} : { PolicyVersion: doc.policyVersion }) }),
  decode: (xml: unknown): PollRequest => fromXml('DevicePoll', xml, devicePollSchema),
};

const pollResponseSchema = z
    .object({
      [$]: z.object({ PolicyVersion: int, Unchanged: bool }),
      ClientSettings: z.object({ PollInterval: interval, FailureRetryCount: int, FailureRetryInterval: interval, EnableSoftwareDistribution: bool }),
      Packages: list('Package', attrs({ ID: text.min(1), Version: int, AdvertisementID: text.min(1), Revision: int })),
    })
    .transform((d) => ({
      policyVersion: d.$.PolicyVersion,
      unchanged: d.$.Unchanged,
      settings: {
        pollIntervalMs: d.ClientSettings.PollInterval,
        failureRetryCount: d.ClientSettings.FailureRetryCount,
        failureRetryIntervalMs: d.ClientSettings.FailureRetryInterval,
        enableSoftwareDistribution: d.ClientSettings.EnableSoftwareDistribution,
      },
      offers: d.Packages.map(({ $: p }) => ({
        packageId: p.ID,
        packageVersion: p.Version,
        advertisementId: p.AdvertisementID,
        revision: p.Revision,
      })),
    }));

export const pollResponse = {
  encode: (doc: PollResponse) =>
    toXml(
      'PollResponse',
      { PolicyVersion: doc.policyVersion, Unchanged: String(doc.unchanged) },
      {
        ClientSettings: {
          PollServer: 'DeviceManagementPoint',
          PollInterval: formatInterval(doc.settings.pollIntervalMs),
          FailureRetryCount: doc.settings.failureRetryCount,
          FailureRetryInterval: formatInterval(doc.settings.failureRetryIntervalMs),
          EnableSoftwareDistribution: String(doc.settings.enableSoftwareDistribution),
        },
        Packages: {
          Package: doc.offers.map((o) => ({
            [$]: { ID: o.packageId, Version: o.packageVersion, AdvertisementID: o.advertisementId, Revision: o.revision },
          })),
        },
      },
    ),
  decode: (xml: unknown): PollResponse => fromXml('PollResponse', xml, pollResponseSchema),
};

const instructionRequestSchema = z.object({ Advertisement: attrs({ ID: text.min(1) }) }).transform((d) => ({ advertisementId: d.Advertisement.$.ID }));

export const instructionRequest = {
  encode: (doc: InstructionRequest) => toXml('InstructionRequest', {}, { Advertisement: { [$]: { ID: doc.advertisementId } } }),
  decode: (xml: unknown): InstructionRequest => fromXml('InstructionRequest', xml, instructionRequestSchema),
};

/** A configuration item travels as its attributes plus one `Setting` element per setting, attributes as in the domain. */
const configurationItemElement = z
  .object({
    [$]: z.object({ ID: text, Name: text, Remediate: bool }),
    Platform: z.array(text),
    Setting: z.array(z.object({ [$]: z.record(z.string(), z.string()) })),
  })
  .transform((d, ctx) => {
    const parsed = configurationItemSchema.safeParse({
      id: d.$.ID,
      name: d.$.Name,
      remediate: d.$.Remediate,
      platforms: d.Platform,
      settings: d.Setting.map((s) => s.$),
    });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  });

const instructionResponseSchema = z
    .object({
      Advertisement: attrs({
        ID: text.min(1),
        Name: text,
        Revision: int,
        Mandatory: bool,
        AvailableTime: instant,
        ExpirationTime: instant.optional(),
        DeviceFlags: hexOrInt,
      }),
      Package: attrs({
        ID: text.min(1),
        Name: text,
        Version: int,
        PackageType: int,
        Size: int,
        Hash: text.regex(/^([0-9a-f]{64})?$/, 'must be a SHA-256 hex digest'),
      }),
      Program: z
        .object({
          [$]: z.object({ Name: text, CommandLine: text.min(1), ProgramFlags: hexOrInt, MaxRunTime: int }),
          Platform: z.array(platformSchema).min(1),
          SuccessExitCodes: z.object({ ExitCode: z.array(int).min(1) }),
        })
        .optional(),
      ConfigurationItems: list('ConfigurationItem', configurationItemElement).optional(),
    })
    .transform(({ Advertisement: { $: a }, Package: { $: p }, Program: program, ConfigurationItems: items }) => ({
      advertisement: {
        id: a.ID,
        name: a.Name,
        revision: a.Revision,
        mandatory: a.Mandatory,
        availableAt: a.AvailableTime,
        expiresAt: a.ExpirationTime ?? null,
        deviceFlags: a.DeviceFlags,
      },
      package: { id: p.ID, name: p.Name, version: p.Version, packageType: p.PackageType, size: p.Size, sha256: p.Hash },
      program: program
        ? {
            name: program.$.Name,
            commandLine: program.$.CommandLine,
            flags: program.$.ProgramFlags,
            platforms: program.Platform,
            maxRunTimeMinutes: program.$.MaxRunTime,
            successExitCodes: program.SuccessExitCodes.ExitCode,
          }
        : null,
      configurationItems: (items ?? []) as ConfigurationItem[],
    }));

export const instructionResponse = {
  encode: (doc: InstructionResponse) =>
    toXml('InstructionResponse', {}, {
      Advertisement: {
        [$]: {
          ID: doc.advertisement.id,
          Name: doc.advertisement.name,
          Revision: doc.advertisement.revision,
          Mandatory: String(doc.advertisement.mandatory),
          AvailableTime: iso(doc.advertisement.availableAt),
          ...(doc.advertisement.expiresAt !== null && { ExpirationTime: iso(doc.advertisement.expiresAt) }),
          DeviceFlags: hex(doc.advertisement.deviceFlags),
        },
      },
      Package: {
        [$]: {
          ID: doc.package.id,
          Name: doc.package.name,
          Version: doc.package.version,
          PackageType: doc.package.packageType,
          Size: doc.package.size,
          Hash: doc.package.sha256,
          HashAlgorithm: 'SHA256',
        },
      },
      ...(doc.program && {
        Program: {
          [$]: {
            Name: doc.program.name,
            CommandLine: doc.program.commandLine,
            ProgramFlags: hex(doc.program.flags),
            MaxRunTime: doc.program.maxRunTimeMinutes,
          },
          Platform: doc.program.platforms,
          SuccessExitCodes: { ExitCode: doc.program.successExitCodes },
        },
      }),
      ...(doc.configurationItems.length > 0 && {
        ConfigurationItems: {
          ConfigurationItem: doc.configurationItems.map((item) => ({
            [$]: { ID: item.id, Name: item.name, Remediate: String(item.remediate) },
            Platform: item.platforms,
            Setting: item.settings.map((setting) => ({ [$]: setting })),
          })),
        },
      }),
    }),
  decode: (xml: unknown): InstructionResponse => fromXml('InstructionResponse', xml, instructionResponseSchema),
};

const packageLocationRequestSchema = z
    .object({ Package: z.array(attrs({ ID: text.min(1), Version: int })).length(1) })
    .transform((d) => ({ packageId: d.Package[0]!.$.ID, version: d.Package[0]!.$.Version }));

export const packageLocationRequest = {
  encode: (doc: PackageLocationRequest) =>
    toXml('PackageLocationRequest', {}, { Package: [{ [$]: { ID: doc.packageId, Version: doc.version } }] }),
  decode: (xml: unknown): PackageLocationRequest => fromXml('PackageLocationRequest', xml, packageLocationRequestSchema),
};

const packageLocationResponseSchema = z
    .object({ Sources: list('Source', attrs({ Type: z.enum(['HTTP', 'SMB']), Metric: int, Location: text.min(1) })) })
    .transform((d) => ({ sources: d.Sources.map(({ $: s }) => ({ type: s.Type, metric: s.Metric, location: s.Location })) }));

export const packageLocationResponse = {
  encode: (doc: PackageLocationResponse) =>
    toXml('PackageLocationResponse', {}, {
      Sources: { Source: doc.sources.map((s) => ({ [$]: { Type: s.type, Metric: s.metric, Location: s.location } })) },
    }),
  decode: (xml: unknown): PackageLocationResponse => fromXml('PackageLocationResponse', xml, packageLocationResponseSchema),
};

const statusMessageElement = z
  .object({
    [$]: z.object({ ID: text.min(1), messageID: int, AdvertisementID: text.min(1), PackageID: text.min(1), Time: instant }),
    Detail: z.array(attrs({ Name: text.min(1), Value: text })).default([]),
  })
  .transform(({ $: m, Detail }) => ({
    id: m.ID,
    messageId: m.messageID,
    advertisementId: m.AdvertisementID,
    packageId: m.PackageID,
    time: m.Time,
    details: Object.fromEntries(Detail.map((d) => [d.$.Name, d.$.Value])),
  }));

/** The two status documents: the documented Download Event Status (11030-11035) and our 100xx extension. */
export type StatusReportType = Exclude<ReportType, 'ComplianceReport'>;

const statusReportSchema = z.object({ StatusMessage: z.array(statusMessageElement).min(1) }).transform((d) => d.StatusMessage);

/**
 * Status messages: `DownloadEventStatus` is the documented document for 11030-11035; `SoftwareDistributionStatus`
 * is our extension in the same shape for the 100xx advertisement messages. The device id comes from X-Device-UUID.
 */
export const statusReport = {
  encode: (type: StatusReportType, doc: StatusReport) =>
    toXml(type, {}, {
      StatusMessage: doc.messages.map((m) => ({
        [$]: { ID: m.id, messageID: m.messageId, AdvertisementID: m.advertisementId, PackageID: m.packageId, Time: iso(m.time) },
        Detail: Object.entries(m.details).map(([name, value]) => ({ [$]: { Name: name, Value: value } })),
      })),
    }),
  decode: (type: StatusReportType, deviceId: string, xml: unknown): StatusReport => ({
    messages: fromXml(type, xml, statusReportSchema).map((m) => ({ ...m, deviceId })),
  }),
};

const complianceReportSchema = z
  .object({
    Result: z
      .array(attrs({ ID: text.min(1), AdvertisementID: text.min(1), PackageID: text.min(1), ItemID: text.min(1), State: z.enum(COMPLIANCE_STATES), Time: instant }))
      .min(1),
  })
  .transform((d) =>
    d.Result.map(({ $: r }) => ({ id: r.ID, advertisementId: r.AdvertisementID, packageId: r.PackageID, itemId: r.ItemID, state: r.State, time: r.Time })),
  );

export const complianceReport = {
  encode: (doc: ComplianceReport) =>
    toXml('ComplianceReport', {}, {
      Result: doc.results.map((r) => ({
        [$]: { ID: r.id, AdvertisementID: r.advertisementId, PackageID: r.packageId, ItemID: r.itemId, State: r.state, Time: iso(r.time) },
      })),
    }),
  decode: (deviceId: string, xml: unknown): ComplianceReport => ({
    results: fromXml('ComplianceReport', xml, complianceReportSchema).map((r) => ({ ...r, deviceId })),
  }),
};

const reportResponseSchema = z
    .object({ [$]: z.object({ Accepted: int, Duplicates: int }) })
    .transform((d) => ({ accepted: d.$.Accepted, duplicates: d.$.Duplicates }));

export const reportResponse = {
  encode: (doc: ReportResponse) => toXml('ReportResponse', { Accepted: doc.accepted, Duplicates: doc.duplicates }),
  decode: (xml: unknown): ReportResponse => fromXml('ReportResponse', xml, reportResponseSchema),
};

/** The server's answer to a request it cannot serve (extension: the documentation names no error document). */
export const errorDocument = {
  encode: (doc: ErrorDocument) => toXml('Error', { Code: doc.code, Message: doc.message }),
};
