import { readFileSync } from 'node:fs';
import { PAGE_STYLE } from '../charts/assets.js';

export const DASHBOARD_SCRIPT = readFileSync(new URL('./dashboard-page.js', import.meta.url), 'utf8');

/** The dashboard's page: every script and style it loads is served by the dashboard itself. */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>mlc-sim live</title>
<link rel="stylesheet" href="assets/uPlot.min.css"><style>${PAGE_STYLE}
button{font:inherit;margin:.1rem}#device-list button{font-variant-numeric:tabular-nums}
</style></head><body>
<h1>mlc-sim: the fleet, live</h1>
<p class="meta">Run clock <span id="sim-time">-</span> (<span id="sim-elapsed">-</span> since the start); wall clock <span id="wall-time">-</span>; <span id="status">connecting</span></p>
<p id="faults"></p>
<h2>Devices</h2><section id="device-states"></section>
<h2>Advertisements</h2><p>Click a count to list its devices, then a device to see it.</p><section id="advertisements"></section>
<section id="device-list"></section>
<h2>Device</h2>
<form id="device-form"><label>Device id <input id="device-input" placeholder="MLC-00001" size="12"></label> <button>Show</button></form>
<section id="device-view"></section>
<h2>Status messages</h2><section id="messages"></section>
<h2>Requests</h2><section id="requests"></section>
<p><label>Latency of <select id="endpoint"></select></label></p><section id="latency"></section>
<script src="assets/uPlot.iife.min.js"></script>
<script src="assets/time-charts.js"></script>
<script src="assets/dashboard.js"></script>
</body></html>
`;
}
