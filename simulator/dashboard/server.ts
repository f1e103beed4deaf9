import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminClient } from '../../src/admin/client.js';
import type { AdvertisementStatus, DeviceDetail } from '../../src/admin/contract.js';
import { ADVERTISEMENT_STATES, type AdvertisementState } from '../../src/domain/status-message.js';
import { CHART_ASSETS } from '../charts/assets.js';
import { DeviceViews } from './device-view.js';
import { dashboardPage, DASHBOARD_SCRIPT } from './page.js';
import { RunSampler, type Sample } from './sampler.js';

/** Seconds of history a page that connects late is sent; older samples are thinned to every other one. */
const HISTORY_KEPT = 3600;
/** Device names one click lists, at most: the page asks for a state's devices, never for the fleet's. */
const DEVICES_LISTED = 200;

export interface Dashboard {
  url: string;
  /** Hand this to the run (`watcher` of a replay or a live fleet). */
  watcher: RunSampler;
  close(): Promise<void>;
}

/**
 * The live dashboard: a page and its assets, all served from here (it works offline), and one server-sent event
 * a second with the run's aggregates. Per-device data goes only to a page that asks for a device.
 */
export async function startDashboard(port: number): Promise<Dashboard> {
  const sampler = new RunSampler();
  const samples: Sample[] = [];
  const streams = new Set<ServerResponse>();
  let views: DeviceViews | null = null;

  const tick = setInterval(() => {
    const sample = sampler.sample();
    if (!sample) return;
    samples.push(sample);
    // A long run keeps its whole span at a coarser grain: every other sample of the older half goes.
    if (samples.length > HISTORY_KEPT) samples.splice(0, HISTORY_KEPT / 2, ...samples.slice(0, HISTORY_KEPT / 2).filter((_, i) => i % 2 === 0));
    const event = `event: sample\ndata: ${JSON.stringify(sample)}\n\n`;
    for (const stream of streams) stream.write(event);
  }, 1000);

  const routes: Record<string, (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void> = {
    '/': (_q, response) => {
      send(response, 200, 'text/html; charset=utf-8', dashboardPage());
    },
    '/assets/uPlot.iife.min.js': (_q, response) => {
      send(response, 200, 'text/javascript', CHART_ASSETS.uplotScript);
    },
    '/assets/uPlot.min.css': (_q, response) => {
      send(response, 200, 'text/css', CHART_ASSETS.uplotStyle);
    },
    '/assets/time-charts.js': (_q, response) => {
      send(response, 200, 'text/javascript', CHART_ASSETS.timeCharts);
    },
    '/assets/dashboard.js': (_q, response) => {
      send(response, 200, 'text/javascript', DASHBOARD_SCRIPT);
    },
    '/events': (request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      response.write(`event: history\ndata: ${JSON.stringify({ windows: sampler.run?.windows ?? [], samples })}\n\n`);
      streams.add(response);
      request.on('close', () => streams.delete(response));
    },
    '/api/devices': async (_q, response, url) => {
      const run = sampler.run;
      const advertisement = url.searchParams.get('advertisement') ?? '';
      const state = url.searchParams.get('state') as AdvertisementState;
      if (!run?.siteUrl || !ADVERTISEMENT_STATES.includes(state)) {
        json(response, 404, { error: 'no such advertisement state' });
        return;
      }
      const { data } = await adminClient(run.siteUrl).get<AdvertisementStatus>(`/advertisements/${encodeURIComponent(advertisement)}/status`, {
        params: { devices: 'true' },
      });
      const devices = data.devicesByState?.[state] ?? [];
      json(response, 200, { total: devices.length, devices: devices.slice(0, DEVICES_LISTED) });
    },
    '/api/device': async (_q, response, url) => {
      const run = sampler.run;
      const id = url.searchParams.get('id') ?? '';
      const fleet = run?.fleet;
      // In this process: its statechart; at the site: its last status messages. `serve` has only the site's side.
      const view = run && fleet ? (views ??= new DeviceViews(fleet, run.clock)).view(id) : null;
      const atSite = run?.siteUrl
        ? await adminClient(run.siteUrl)
            .get<DeviceDetail>(`/devices/${encodeURIComponent(id)}`)
            .then(({ data }) => data)
            .catch(() => null)
        : null;
      if (!view && !atSite) {
        json(response, 404, { error: `no device ${id}` });
        return;
      }
      json(response, 200, {
        ...(view ?? { id, platform: atSite?.platform ?? '', state: null, context: {}, events: [] }),
        history: (atSite?.history ?? []).slice(-10).map((m) => ({ ...m, time: new Date(m.time).toISOString() })),
      });
    },
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = request.method === 'GET' ? routes[url.pathname] : undefined;
    if (!route) {
      json(response, 404, { error: 'not found' });
      return;
    }
    Promise.resolve(route(request, response, url)).catch((error: unknown) => {
      json(response, 502, { error: `the site did not answer: ${String(error)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    watcher: sampler,
    close: async () => {
      clearInterval(tick);
      for (const stream of streams) stream.end();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json', JSON.stringify(body));
}
