// A minimal device-management server written only from the protocol reference (dm-protocol.md section 12 "Minimal
// server behaviour", with sections 4-10 and the capture server of section 13), as a test fixture. It imports nothing
// from the implementation on purpose: it is what the simulated devices are checked against.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLParser } from 'fast-xml-parser';

export interface ReferencePackage {
  id: string; // GUID
  name: string;
  fileName: string;
  content: Buffer;
  localDestination: string;
  commandLine: string;
}

export interface ReferenceServer {
  url: string; // origin + path
  origin: string;
  devices: Map<string, Record<string, string>>;
  statuses: { uuid: string; packageID: string; messageID: number; timestamp: string; parameters: Record<string, string> }[];
  reports: { uuid: string; type: string; body: string; fileName?: string }[];
  unknown: { uuid: string; action: string }[];
  requests: { action: string; root: string; body: string; responseBody: string }[];
  close(): Promise<void>;
}

type Xml = Record<string, unknown>;

// The capture server's content type (Flask's default); the device accepted it (section 13.1).
const CONTENT_TYPE = 'text/html; charset=utf-8';
const REPORT_TYPES = ['MachineInventory', 'SoftwareInventory', 'FileCollection'];
const IDENTIFICATION = ['ID', 'DeviceName', 'UserName', 'Domain', 'Platform', 'Processor', 'CodePage', 'SystemDefaultLCID'];
const REPEATABLE = new Set(['StatusMessage', 'Parameter', 'Package', 'InventoryItem', 'Property', 'IPAddress']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => REPEATABLE.has(name),
});

/** The root element's name and content, with namespaces stripped; undefined when the body is not XML. */
function parseRoot(body: string): { root: string; content: Xml } | undefined {
  if (!body.trimStart().startsWith('<')) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- `true`: fast-xml-parser's own well-formedness check first; fast-xml-validator, its successor, checks differently
    const parsed = parser.parse(body, true) as Xml;
    const root = Object.keys(parsed).find((key) => !key.startsWith('?'));
    if (root === undefined) return undefined;
    const content = parsed[root];
    return { root, content: typeof content === 'object' && content !== null ? (content as Xml) : {} };
  } catch {
    return undefined;
  }
}

function child(node: unknown, name: string): Xml {
  const value = typeof node === 'object' && node !== null ? (node as Xml)[name] : undefined;
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'object' && first !== null ? (first as Xml) : {};
}

function list(node: unknown, name: string): Xml[] {
  const value = typeof node === 'object' && node !== null ? (node as Xml)[name] : undefined;
  return (Array.isArray(value) ? (value as unknown[]) : value === undefined ? [] : [value]).map((v) =>
    typeof v === 'object' && v !== null ? (v as Xml) : { '#text': v },
  );
}

function text(node: unknown, name?: string): string | undefined {
  const value = name === undefined ? node : typeof node === 'object' && node !== null ? (node as Xml)[name] : undefined;
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first;
  if (typeof first === 'object' && first !== null) return typeof (first as Xml)['#text'] === 'string' ? ((first as Xml)['#text'] as string) : '';
  return undefined;
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function startReferenceServer(options: {
  packages: ReferencePackage[];
  path?: string;
  pollInterval?: string;
  failureRetryInterval?: string;
}): Promise<ReferenceServer> {
  const path = options.path ?? '/devicemgmt/server.aspx';
  const packages = new Map(options.packages.map((p) => [p.id.toUpperCase(), p]));
  const findPackage = (id: string | undefined) => (id === undefined ? undefined : packages.get(id.trim().toUpperCase()));
  const host = '127.0.0.1';
  let origin = '';
  const state: Omit<ReferenceServer, 'url' | 'origin' | 'close'> = { devices: new Map(), statuses: [], reports: [], unknown: [], requests: [] };

  const pollResponse = () =>
    '<PollResponse><Settings>' +
    '<ClientSettings version="1.0">' +
    `<PollServer>${host}</PollServer>` +
    `<PollInterval>${options.pollInterval ?? '0000-00-00 01:00:00'}</PollInterval>` +
    '<FailureRetryCount>5</FailureRetryCount>' +
    `<FailureRetryInterval>${options.failureRetryInterval ?? '0000-00-00 00:03:00'}</FailureRetryInterval>` +
    '</ClientSettings>' +
    '<SoftwareInventorySettings version="1.0"><Enabled>false</Enabled><Interval>0000-00-07 00:00:00</Interval></SoftwareInventorySettings>' +
    '<FileCollectionSettings version="1.0"><Enabled>false</Enabled><Interval>0000-00-07 00:00:00</Interval></FileCollectionSettings>' +
    '<MachineInventorySettings version="1.0"><Enabled>true</Enabled><Interval>0000-00-01 00:00:00</Interval></MachineInventorySettings>' +
    '</Settings><ApplicablePackages>' +
    options.packages.map((p) => `<Package ID="${escape(p.id)}" />`).join('') +
    '</ApplicablePackages></PollResponse>';

  const instructions = (p: ReferencePackage) =>
    '<Instructions><Package>' +
    `<ID>${escape(p.id)}</ID>` +
    '<Required>Yes</Required>' +
    `<Name>${escape(p.name)}</Name>` +
    `<ShortDescription>${escape(p.name)}</ShortDescription>` +
    `<LongDescription>${escape(p.name)} (${escape(p.fileName)})</LongDescription>` +
    `<PackageSize>${p.content.length}</PackageSize>` +
    '<Flags>03 00 00 00</Flags>' +
    '<StartTime UTC="true">2000-01-01 00:00:00</StartTime>' +
    `<LocalDestination>${escape(p.localDestination)}</LocalDestination>` +
    `<CommandLine>${escape(p.commandLine)}</CommandLine>` +
    '<SourceFiles>No</SourceFiles>' +
    '</Package></Instructions>';

  const packageLocation = (p: ReferencePackage) =>
    '<PackageLocation>' +
    `<PackageID>${escape(p.id)}</PackageID>` +
    '<Locations><Location metric="1"><HTTP>' +
    `<URL>${escape(`${origin}/content/${encodeURIComponent(p.id)}/${encodeURIComponent(p.fileName)}`)}</URL>` +
    '</HTTP></Location></Locations>' +
    '</PackageLocation>';

  /** Answers one POST on the endpoint; returns [status, body]. */
  function handle(req: IncomingMessage, raw: Buffer): [number, string] {
    const uuid = header(req, 'X-Device-UUID');
    if (!uuid) return [400, 'Missing X-Device-UUID header'];
    const action = header(req, 'X-Device-Action') ?? '';
    const reportType = header(req, 'X-Device-ReportType') ?? '';
    const isFileCollection = action.toLowerCase() === 'report' && reportType.toLowerCase() === 'filecollection';
    const body = raw.toString('utf8');
    // A file collection's body is the raw file, never a document to sniff.
    const doc = isFileCollection ? undefined : parseRoot(body);
    const root = doc?.root ?? '';
    const answer = (status: number, responseBody: string): [number, string] => {
      state.requests.push({ action, root, body, responseBody });
      return [status, responseBody];
    };
    const unknown = (what: string, field: string): [number, string] => {
      state.unknown.push({ uuid, action: what });
      return answer(200, `Unknown ${field} field: ${what}`);
    };

    // The status report's action value is not documented (section 2): recognise it by its root.
    if (root === 'Status') {
      for (const message of list(doc?.content, 'StatusMessage')) {
        const parameters: Record<string, string> = {};
        for (const parameter of list(message, 'Parameter')) {
          const name = parameter['@_name'];
          if (typeof name === 'string') parameters[name] = text(parameter) ?? '';
        }
        state.statuses.push({
          uuid,
          packageID: text(message, '@_packageID') ?? '',
          messageID: Number(message['@_messageID']),
          timestamp: text(message, '@_timestamp') ?? '',
          parameters,
        });
      }
      return answer(200, '');
    }

    switch (action.toLowerCase()) {
      case 'poll': {
        const identification = child(doc?.content, 'Identification');
        const adapter = child(identification, 'NetworkAdapter');
        const device: Record<string, string> = {};
        for (const name of IDENTIFICATION) {
          const value = text(identification, name);
          if (value !== undefined) device[name] = value;
        }
        for (const name of ['IPAddress', 'IPSubnet', 'MAC']) {
          const value = text(adapter, name);
          if (value !== undefined) device[name] = value;
        }
        state.devices.set(uuid, device);
        return answer(200, pollResponse());
      }
      case 'instructionrequest': {
        const id = list(doc?.content, 'Package')[0]?.['@_ID'];
        const p = findPackage(typeof id === 'string' ? id : undefined);
        return p ? answer(200, instructions(p)) : answer(404, `Unknown package: ${String(id)}`);
      }
      case 'locationrequest': {
        const id = text(doc?.content, 'PackageID');
        const p = findPackage(id);
        return p ? answer(200, packageLocation(p)) : answer(404, `Unknown package: ${String(id)}`);
      }
      case 'report': {
        const type = REPORT_TYPES.find((t) => t.toLowerCase() === reportType.toLowerCase());
        if (!type) return unknown(`Report/${reportType}`, 'X-Device-ReportType');
        const fileName = type === 'FileCollection' ? header(req, 'X-Device-FullyQualifiedFilename') : undefined;
        state.reports.push(fileName === undefined ? { uuid, type, body } : { uuid, type, body, fileName });
        return answer(200, '');
      }
      default:
        return unknown(action, 'X-Device-Action');
    }
  }

  /** GET /content/<packageId>/<fileName>, with `Range: bytes=N-` (or N-M) support. */
  function serveContent(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    const [, , id = '', fileName = ''] = pathname.split('/').map(decode);
    const p = findPackage(id);
    if (!p || p.fileName !== fileName) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
      return;
    }
    const size = p.content.length;
    const range = /^bytes=(\d+)-(\d*)$/.exec(header(req, 'Range') ?? '');
    let [status, start, end] = [200, 0, size - 1];
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || end < start) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': end - start + 1,
      'Accept-Ranges': 'bytes',
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : p.content.subarray(start, end + 1));
  }

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname === path) {
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' }).end('Method not allowed');
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const [status, body] = handle(req, Buffer.concat(chunks));
        res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) }).end(body);
      });
      return;
    }
    if (pathname.startsWith('/content/') && (req.method === 'GET' || req.method === 'HEAD')) {
      serveContent(req, res, pathname);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      origin = `http://${host}:${(server.address() as AddressInfo).port}`;
      resolve({
        ...state,
        url: origin + path,
        origin,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => {
              if (error) fail(error);
              else done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
