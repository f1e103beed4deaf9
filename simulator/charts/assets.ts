import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const read = (file: string | URL) => readFileSync(file, 'utf8');

/**
 * The browser side of the charts, read once: uPlot (chosen for time series: small, fast on 100k points, no
 * dependencies; see README) and our scripts on it. The report inlines them; the dashboard serves them itself.
 */
export const CHART_ASSETS = {
  uplotScript: read(require.resolve('uplot/dist/uPlot.iife.min.js')),
  uplotStyle: read(require.resolve('uplot/dist/uPlot.min.css')),
  timeCharts: read(new URL('./time-charts.js', import.meta.url)),
  reportPage: read(new URL('./report-page.js', import.meta.url)),
};

/** Page styles the report and the dashboard share: readable from 480 px to 1920 px, no sideways scroll. */
export const PAGE_STYLE = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:1400px;color:#1d2433;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8dde6;padding-bottom:.3rem}
.meta{color:#56607a}.scroll{overflow-x:auto;max-width:100%}
.warning{color:#8a1c1c;background:#fdecec;border-left:4px solid #c0392b;padding:.4rem .6rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #e6e9ef;text-align:left}
.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f6fa}
figure.chart{margin:1rem 0 1.5rem}figure.chart figcaption{color:#56607a;margin-top:.3rem}
.u-title{font-size:15px!important;font-weight:600}.u-legend{font-size:13px}.u-legend .u-series{white-space:normal}
p,summary,figcaption{overflow-wrap:anywhere}
@media (max-width:600px){body{margin:.8rem auto;padding:0 .6rem}th,td{padding:.25rem .35rem}}
`;

/** Text for an inline script element: nothing in it can close the element early. */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}
