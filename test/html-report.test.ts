import { expect } from 'chai';
import { silentLogger } from '../src/logging.js';
import { renderHtmlReport } from '../simulator/html-report.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';

describe('the HTML report', () => {
  let report: FleetReport;
  let html: string;
  before(async () => {
    report = await replayScenario(
      { ...(await loadScenario('config/scenarios/first-round.yaml')), devices: 12 },
      { limitMs: 24 * 3_600_000, logger: silentLogger() },
    );
    html = renderHtmlReport(report);
  });

  it('is one self-contained document: scripts and styles inline, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html).to.include('</html>');
    expect(html).to.not.match(/<script[^>]*\bsrc=|<link|<img/i);
    // uPlot and the chart script are in the page itself; the only URLs in them are XML namespaces and uPlot's licence banner.
    const urls = html.match(/https?:\/\/[^\s"'`)]+/g) ?? [];
    expect(urls.filter((url) => !url.startsWith('http://www.w3.org/') && url !== 'https://github.com/leeoniya/uPlot')).to.deep.equal([]);
  });

  it('carries, for the charts, each advertisement from its own start to the end of the run, with its outcomes over time', () => {
    const data = JSON.parse(/<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      endSeconds: number;
      advertisements: { id: string; availableSeconds: number; outcomes: number[][] }[];
    };
    expect(data.endSeconds).to.equal((Date.parse(report.end) - Date.parse(report.start)) / 1000);
    expect(data.advertisements.map((a) => a.id)).to.deep.equal(report.advertisements.map((a) => a.id));
    const driver = report.advertisements.find((a) => a.id === 'MLC20002')!;
    expect(driver.notApplicable).to.be.above(0);
    const last = data.advertisements.find((a) => a.id === 'MLC20002')!.outcomes.at(-1)!;
    // seconds, succeeded, failed, retrying, in progress, not applicable: where the report's columns ended.
    expect([last[1], last[2], last[3]! + last[4]!, last[5]]).to.deep.equal([driver.succeeded, driver.failed, driver.inProgress, driver.notApplicable]);
  });

  it('gives free storage per platform and volume, from the devices’ machine inventory', () => {
    expect(report.storage.length).to.be.above(0);
    const [first] = report.storage;
    expect(html).to.include('<h2>Free storage per platform (latest machine inventory)</h2>');
    expect(html).to.include(`<td>${first!.platform}</td><td>Object Store</td>`);
  });

  it('escapes what it did not write itself', () => {
    const hostile = { ...report, advertisements: report.advertisements.map((a) => ({ ...a, name: '<b>&"x"' })) };
    const page = renderHtmlReport(hostile);
    expect(page).to.not.include('<b>&"x"');
    expect(page).to.include('&#60;b&#62;&#38;&#34;x&#34;');
  });
});
