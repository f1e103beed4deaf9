import { setTimeout as sleep } from 'node:timers/promises';
import axios from 'axios';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PATH, type AdvertisementStatus, type DeviceDetail } from '../src/admin/contract.js';
import { loadSiteFile, loadValidatedFile } from '../src/input-file.js';
import { silentLogger } from '../src/logging.js';
import { startSiteServer } from '../src/server/site-server.js';
import { startDashboard, type Dashboard } from '../simulator/dashboard/server.js';
import { fleetMixSchema } from '../simulator/fleet-mix.js';
import { runLiveFleet } from '../simulator/live-fleet.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';
import { launchChromium, layoutOf, screenshot, watchedPage, WIDTHS } from './support/browser.js';

/** Waits until `check` holds, trying every half second; fails with what it last saw. */
async function eventually<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, seconds = 30): Promise<T> {
  let value = await read();
  for (let tries = seconds * 2; !check(value); tries--) {
    if (tries === 0) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await sleep(500);
    value = await read();
  }
  return value;
}

/**
 * `promise`, or a failure naming `what` after `seconds`: a wait with no deadline of its own would end only at the
 * spec's timeout, which does not say what was awaited.
 */
async function within<T>(what: string, promise: Promise<T>, seconds = 30): Promise<T> {
  const deadline = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(seconds * 1000, undefined, { signal: deadline.signal }).then(() => {
        throw new Error(`${what}: not done after ${seconds} s`);
      }),
    ]);
  } finally {
    deadline.abort();
  }
}

/** The advertisement states a page shows (non-zero counts), as `{ MLC20001: { succeeded: 7, ... } }`. */
function shownStates(page: Page): Promise<Record<string, Record<string, number>>> {
  return page.locator('button[data-state]').evaluateAll((buttons) => {
    const shown: Record<string, Record<string, number>> = {};
    for (const button of buttons as HTMLButtonElement[]) (shown[button.dataset.ad ?? ''] ??= {})[button.dataset.state ?? ''] = Number(button.textContent);
    return shown;
  });
}

/** Every advertisement's non-zero states, as the admin API tells them now. */
async function adminStates(admin: (path: string) => Promise<unknown>): Promise<Record<string, Record<string, number>>> {
  const ads = (await admin('/advertisements')) as { id: string }[];
  const states: Record<string, Record<string, number>> = {};
  for (const ad of ads) {
    const { byState } = (await admin(`/advertisements/${ad.id}/status`)) as AdvertisementStatus;
    const nonZero = Object.entries(byState).filter(([, n]) => n > 0);
    if (nonZero.length > 0) states[ad.id] = Object.fromEntries(nonZero);
  }
  return states;
}

describe('the live dashboard in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let dashboard: Dashboard;
  let run: Promise<FleetReport>;
  let admin: (path: string) => Promise<unknown>;

  before(async () => {
    browser = await launchChromium();
    dashboard = await startDashboard(0);
    // A first round at 120 times real time: done in a few seconds, then every device idle until its next hourly poll.
    const scenario = { ...(await loadScenario('config/scenarios/first-round.yaml')), devices: 30, durationMs: 50 * 60_000 };
    run = replayScenario(scenario, { limitMs: scenario.durationMs, speed: 120, logger: silentLogger(), watcher: dashboard.watcher });
    const siteUrl = await eventually(
      'the run reaching the dashboard',
      () => Promise.resolve(dashboard.watcher.run?.siteUrl ?? null),
      (url) => url !== null,
    );
    admin = async (path) => (await axios.get(new URL(`${ADMIN_PATH}${path}`, siteUrl!).href)).data as unknown;
  });
  after(async () => {
    await run;
    await dashboard.close();
    await browser.close();
  });

  for (const width of WIDTHS) {
    it(`at ${width} px shows what the admin API says, a device on click, with no console error and nothing fetched outside`, async () => {
      const { page, consoleErrors, outsideRequests } = await watchedPage(browser, width);
      await page.goto(dashboard.url);
      await page.locator('#chart-device-states canvas').waitFor();
      // The page's numbers equal the site's at the same moment: once the round is done they hold still.
      let expected = await adminStates(admin);
      await eventually(
        'the page catching up with the admin API',
        async () => {
          expected = await adminStates(admin);
          return shownStates(page);
        },
        (shown) => JSON.stringify(shown) === JSON.stringify(expected),
      );
      expect(Object.keys(expected)).to.include('MLC20001');
      const status = (await admin('/advertisements/MLC20001/status')) as AdvertisementStatus;
      const canFinish = status.targeted - status.byState.rejected - status.byState.expired - status.byState.willNotRerun;
      expect(await page.locator('#ad-MLC20001 .rollout').textContent()).to.include(`${status.byState.succeeded} of the ${canFinish} devices`);
      // The charts move on with the run (updated in place, not frozen where they were first drawn).
      const ticks = () => page.locator('#chart-ad-MLC20001 > div').getAttribute('data-x-ticks');
      const before = await ticks();
      await eventually('the chart moving on', ticks, (now) => now !== before);
      expect(Number(await page.locator('#sim-elapsed').getAttribute('data-seconds'))).to.be.above(0);
      expect(await page.locator('#status').textContent()).to.equal('live');

      // A state's devices, then one device: the page asks for them only now.
      await page.locator('button[data-ad="MLC20004"][data-state="succeeded"]').click();
      const first = page.locator('#device-list button').first();
      const device = (await first.getAttribute('data-device'))!;
      await first.click();
      await page.locator(`#device-id[data-device="${device}"]`).waitFor();
      const detail = (await admin(`/devices/${device}`)) as DeviceDetail;
      expect(await page.locator('#device-history tr').count()).to.equal(Math.min(10, detail.history.length));
      expect(await page.locator('#device-state').textContent()).to.equal('idle');

      const layout = await layoutOf(page);
      expect(layout.overflow, 'sideways scroll in pixels').to.equal(0);
      expect(layout.smallestFontPx).to.be.at.least(12);
      await screenshot(page, 'dashboard');
      expect(consoleErrors).to.deep.equal([]);
      expect(outsideRequests).to.deep.equal([]);
      await page.close();
    });
  }
});

describe('the live dashboard of serve (the site alone) in Chromium', function () {
  this.timeout(120_000);

  it("shows the site's side: advertisement states as the admin API says, requests per endpoint, a device's status messages", async () => {
    const browser = await launchChromium();
    const dashboard = await startDashboard(0);
    const { site, contentRoot } = await loadSiteFile('config/site.yaml');
    const server = await startSiteServer({ site, contentRoot, onExchange: dashboard.watcher.exchange });
    try {
      dashboard.watcher.watch({ fleet: null, clock: { now: Date.now }, start: Date.now(), siteUrl: server.url, windows: [] });
      const admin = async (path: string) => (await axios.get(new URL(`${ADMIN_PATH}${path}`, server.url).href)).data as unknown;
      // A small fleet elsewhere (here: in this process, but not shown to the dashboard) polls the site for a few seconds.
      const mix = await loadValidatedFile('config/fleet.yaml', fleetMixSchema);
      const fleet = runLiveFleet({ serverUrl: server.url, mix, devices: 8, seed: 3, staggerMs: 0, durationMs: 4000, logger: silentLogger() });
      const { page, consoleErrors, outsideRequests } = await watchedPage(browser, 1920);
      await page.goto(dashboard.url);
      await eventually(
        'requests at the site reaching the page',
        () => page.locator('#chart-request-rate').textContent(),
        (legend) => legend?.includes('Poll') === true,
      );
      await within('the fleet elsewhere ending its 4 s run', fleet);
      let expected = await adminStates(admin);
      await eventually(
        'the page catching up with the admin API',
        async () => {
          expected = await adminStates(admin);
          return shownStates(page);
        },
        (shown) => JSON.stringify(shown) === JSON.stringify(expected) && Object.keys(shown).length > 0,
      );
      await page.locator('#device-input').fill('MLC-00001');
      await page.locator('#device-form button').click();
      await page.locator('#device-id[data-device="MLC-00001"]').waitFor();
      const detail = (await admin('/devices/MLC-00001')) as DeviceDetail;
      expect(await page.locator('#device-history tr').count()).to.equal(Math.min(10, detail.history.length));
      expect(await page.locator('#device-state').textContent()).to.include('not in this process');
      expect(consoleErrors).to.deep.equal([]);
      expect(outsideRequests).to.deep.equal([]);
    } finally {
      await server.close();
      await dashboard.close();
      await browser.close();
    }
  });
});
