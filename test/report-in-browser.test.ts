import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { silentLogger } from '../src/logging.js';
import { renderHtmlReport } from '../simulator/html-report.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';
import { launchChromium, layoutOf, screenshot, watchedPage, WIDTHS } from './support/browser.js';

describe('the HTML report in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let report: FleetReport;
  let url: string;

  before(async () => {
    // The outage scenario, smaller: failures, retries and the recovery are all in it.
    report = await replayScenario(
      { ...(await loadScenario('config/scenarios/rollout-during-dp-outage.yaml')), devices: 60 },
      { limitMs: 24 * 3_600_000, logger: silentLogger() },
    );
    const out = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-report-'));
    await writeFile(path.join(out, 'report.json'), JSON.stringify(report));
    await writeFile(path.join(out, 'report.html'), renderHtmlReport(report));
    // What the page shows is compared with report.json as written, not with the object in memory.
    report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as FleetReport;
    url = pathToFileURL(path.join(out, 'report.html')).href;
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });

  for (const width of WIDTHS) {
    it(`reads at ${width} px: charts drawn, no console error, nothing fetched, no sideways scroll, numbers as in report.json`, async () => {
      const { page, consoleErrors, outsideRequests } = await watchedPage(browser, width);
      await page.goto(url);
      const ads = report.advertisements.filter((a) => a.targeted > 0);
      await page.locator('figure.chart canvas').nth(ads.length).waitFor();
      expect(await page.locator('figure.chart').count()).to.equal(1 + ads.length);
      expect(await page.locator('.u-title').allTextContents()).to.deep.equal([
        'Rollout: devices finished, as a share of those that can finish',
        ...ads.map((a) => `${a.id} ${a.name}: targeted devices by outcome`),
      ]);
      // Axis titles with units, and ticks on round durations.
      const plot = page.locator('#rollout-chart > div');
      expect(await plot.getAttribute('data-x-label')).to.equal('time since the run started (simulated)');
      expect(await plot.getAttribute('data-y-label')).to.equal('% of devices that can finish');
      const ticks = (await plot.getAttribute('data-x-ticks'))!.split(' ');
      expect(ticks.at(-1)).to.equal('4h');
      for (const tick of ticks) expect(tick).to.match(/^(0s|\d*[05]m|\d+h([0-5][05]m)?)$/);

      for (const ad of ads) {
        const shown = async (outcome: string) => Number(await page.locator(`#outcomes-${ad.id} [data-outcome="${outcome}"]`).textContent());
        expect(await shown('succeeded')).to.equal(ad.succeeded);
        expect(await shown('failed')).to.equal(ad.failed);
        expect((await shown('retrying')) + (await shown('inProgress'))).to.equal(ad.inProgress);
        expect(await shown('notApplicable')).to.equal(ad.notApplicable);
        expect(await page.locator(`#outcomes-${ad.id} figcaption`).textContent()).to.include('Shaded: distribution point down (503) 10m–1h40m');
      }
      const row = await page.locator('table').first().locator('tbody tr').first().locator('td').allTextContents();
      const [driver] = report.advertisements;
      expect(row.slice(2, 9).map(Number)).to.deep.equal([
        driver!.targeted,
        driver!.received,
        driver!.succeeded,
        driver!.failed,
        driver!.notApplicable,
        driver!.inProgress,
        driver!.noStatus,
      ]);

      const layout = await layoutOf(page);
      expect(layout.overflow, 'sideways scroll in pixels').to.equal(0);
      expect(layout.smallestFontPx).to.be.at.least(12);
      await screenshot(page, 'report');
      expect(consoleErrors).to.deep.equal([]);
      expect(outsideRequests).to.deep.equal([]);
      await page.close();
    });
  }
});
