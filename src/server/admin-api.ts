import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { advertisementSchema } from '../domain/advertisement.js';
import { collectionSchema } from '../domain/collection.js';
import { configurationItemSchema } from '../domain/configuration-item.js';
import { packageSchema } from '../domain/package.js';
import { programSchema } from '../domain/program.js';
import { firstIssue } from '../domain/validation.js';
import {
  ADMIN_PATH,
  type AdvertisementStatus,
  type PlatformStorage,
  advertisementChangeSchema,
  faultSchema,
  fileQuerySchema,
  filterSchema,
  membersSchema,
  pageSchema,
  statusQuerySchema,
} from '../admin/contract.js';
import type { SiteContext } from './site-context.js';
import { SiteError } from './site-error.js';

/** A request body that failed its schema: the first issue, as field and reason. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const { field, reason } = firstIssue(result.error);
  throw new SiteError(400, field || '(body)', reason);
}

/**
 * One advertisement's status as the console shows it: GET /advertisements/:id/status, its query (`devices=true`: which
 * devices are in each state) read after the advertisement is found.
 */
export function advertisementStatus(site: SiteContext, advertisementId: string, query: unknown): AdvertisementStatus {
  const { status } = site;
  const summary = status.summary(
    advertisementId,
    site.policy.targetedDevices(advertisementId),
    site.catalog.availableSince(advertisementId),
    parseBody(statusQuerySchema, query).devices === 'true',
  );
  // Received over the same population as targeted: devices the site knows (a forgotten device's 10002 stays stored).
  let received = 0;
  for (const device of status.receivedDevices(advertisementId)) if (site.devices.knowsName(device)) received++;
  return { ...summary, received };
}

/** Free storage per platform and volume over the fleet (GET /inventory/storage). */
export const fleetStorage = (site: SiteContext): PlatformStorage[] => site.inventory.storageByPlatform((device) => site.devices.named(device)?.platform);

/**
 * The admin API (ours, JSON): create and list the site's objects, read status as the console shows it, and
 * inject faults. Every error is a 4xx with `{ error, field, reason }`.
 */
export function registerAdminApi(app: FastifyInstance, site: SiteContext): void {
  const { catalog, status } = site;
  const created = (reply: FastifyReply, body: unknown) => reply.code(201).send(body);

  app.get(`${ADMIN_PATH}/site`, async () => ({
    policyVersion: catalog.policyVersion,
    settings: catalog.settings,
    packages: [...catalog.packages.values()],
    programs: [...catalog.programs],
    configurationItems: [...catalog.configurationItems.values()],
    collections: [...catalog.collections.values()],
    advertisements: [...catalog.advertisements.values()],
    devices: site.devices.size,
    inventoryReports: site.inventory.received,
    statusMessages: status.messageCount,
    deviceMessages: status.deviceMessageCount,
    complianceResults: status.complianceCount,
  }));

  app.get(`${ADMIN_PATH}/packages`, async () => [...catalog.packages.values()]);
  app.post(`${ADMIN_PATH}/packages`, async (request, reply) => {
    const pkg = parseBody(packageSchema, request.body);
    await catalog.addPackage(pkg);
    return created(reply, pkg);
  });
  app.put<{ Params: { id: string } }>(`${ADMIN_PATH}/packages/:id`, async (request) => {
    const pkg = parseBody(packageSchema, request.body);
    if (pkg.id !== request.params.id) throw new SiteError(400, 'id', `body id ${pkg.id} does not match the URL's ${request.params.id}`);
    return catalog.replacePackage(pkg);
  });

  app.get(`${ADMIN_PATH}/programs`, async () => [...catalog.programs]);
  app.post(`${ADMIN_PATH}/programs`, async (request, reply) => {
    const program = parseBody(programSchema, request.body);
    catalog.addProgram(program);
    return created(reply, program);
  });

  app.get(`${ADMIN_PATH}/configuration-items`, async () => [...catalog.configurationItems.values()]);
  app.post(`${ADMIN_PATH}/configuration-items`, async (request, reply) => {
    const item = parseBody(configurationItemSchema, request.body);
    catalog.addConfigurationItem(item);
    return created(reply, item);
  });

  app.put<{ Params: { id: string } }>(`${ADMIN_PATH}/configuration-items/:id`, async (request) => {
    const item = parseBody(configurationItemSchema, request.body);
    if (item.id !== request.params.id) throw new SiteError(400, 'id', `body id ${item.id} does not match the URL's ${request.params.id}`);
    await catalog.replaceConfigurationItem(item);
    return item;
  });

  app.get(`${ADMIN_PATH}/collections`, async () => [...catalog.collections.values()]);
  app.post<{ Params: { id: string } }>(`${ADMIN_PATH}/collections/:id/members`, async (request) =>
    catalog.addCollectionMembers(request.params.id, parseBody(membersSchema, request.body).devices),
  );
  app.post(`${ADMIN_PATH}/collections`, async (request, reply) => {
    const collection = parseBody(collectionSchema, request.body);
    catalog.addCollection(collection);
    return created(reply, collection);
  });

  app.get(`${ADMIN_PATH}/advertisements`, async () => [...catalog.advertisements.values()]);
  app.post(`${ADMIN_PATH}/advertisements`, async (request, reply) => {
    const ad = parseBody(advertisementSchema, request.body);
    catalog.addAdvertisement(ad);
    return created(reply, ad);
  });
  app.patch<{ Params: { id: string } }>(`${ADMIN_PATH}/advertisements/:id`, async (request) =>
    catalog.updateAdvertisement(request.params.id, parseBody(advertisementChangeSchema, request.body)),
  );
  app.get<{ Params: { id: string } }>(`${ADMIN_PATH}/advertisements/:id/status`, async (request) =>
    advertisementStatus(site, request.params.id, request.query),
  );

  app.get(`${ADMIN_PATH}/devices`, async (request) => {
    const { limit, offset } = parseBody(pageSchema, request.query);
    return site.devices
      .all()
      .slice(offset, offset + limit)
      .map(({ authToken: _token, ...device }) => device);
  });
  app.delete(`${ADMIN_PATH}/devices`, async (_request, reply) => {
    site.devices.forget();
    return reply.code(204).send();
  });
  app.get<{ Params: { name: string } }>(`${ADMIN_PATH}/devices/:name`, async (request) => {
    const { name } = request.params;
    const device = site.devices.named(name);
    if (!device) throw new SiteError(404, 'name', `no device named ${name} has polled this site`);
    const { authToken: _token, ...known } = device;
    return {
      ...known,
      history: status.statusMessages({ deviceId: name }),
      compliance: status.complianceResults({ deviceId: name }),
      inventory: site.inventory.get(name) ?? null,
    };
  });
  app.get<{ Params: { name: string } }>(`${ADMIN_PATH}/devices/:name/inventory`, async (request) => {
    const inventory = site.inventory.get(request.params.name);
    if (!inventory) throw new SiteError(404, 'name', `device ${request.params.name} has sent no inventory`);
    return inventory;
  });
  app.get<{ Params: { name: string } }>(`${ADMIN_PATH}/devices/:name/inventory/history`, async (request) => site.inventory.history(request.params.name));
  app.get(`${ADMIN_PATH}/inventory/files`, async (request) => {
    const query = parseBody(fileQuerySchema, request.query);
    return site.inventory.devicesWithFile(query.name, query.version);
  });
  app.get(`${ADMIN_PATH}/inventory/storage`, async () => fleetStorage(site));
  app.get(`${ADMIN_PATH}/status-messages`, async (request) => status.statusMessages(parseBody(filterSchema, request.query)));
  app.get(`${ADMIN_PATH}/compliance`, async (request) => status.complianceResults(parseBody(filterSchema, request.query)));

  app.get(`${ADMIN_PATH}/faults`, async () => site.faults.list());
  app.post(`${ADMIN_PATH}/faults`, async (request, reply) => created(reply, site.faults.add(parseBody(faultSchema, request.body))));
  app.delete(`${ADMIN_PATH}/faults`, async (_request, reply) => {
    site.faults.clear();
    return reply.code(204).send();
  });
}
