// How an idle fleet's cost grows: what each added device costs between consecutive fleet sizes, and the least-squares
// slope over every size. A cost that is flat per device gives the same figure on every row.
import type { IdleFleetFigures } from './idle-fleet.js';

export interface MarginalCost {
  sizes: string;
  heapBytesPerAddedDevice: number;
  rssBytesPerAddedDevice: number;
  startupMicrosPerAddedDevice: number;
}

const FIGURES = {
  heapBytesPerAddedDevice: (row: IdleFleetFigures) => row.heapBytesPerDevice * row.devices,
  rssBytesPerAddedDevice: (row: IdleFleetFigures) => row.rssBytesPerDevice * row.devices,
  startupMicrosPerAddedDevice: (row: IdleFleetFigures) => row.startupSeconds * 1e6,
} as const;

/** Least-squares slope of `total` over the rows' device counts. */
function slope(rows: readonly IdleFleetFigures[], total: (row: IdleFleetFigures) => number): number {
  const n = rows.length;
  const meanX = rows.reduce((sum, row) => sum + row.devices, 0) / n;
  const meanY = rows.reduce((sum, row) => sum + total(row), 0) / n;
  const covariance = rows.reduce((sum, row) => sum + (row.devices - meanX) * (total(row) - meanY), 0);
  const variance = rows.reduce((sum, row) => sum + (row.devices - meanX) ** 2, 0);
  return covariance / variance;
}

function costOver(sizes: string, rows: readonly IdleFleetFigures[]): MarginalCost {
  const cost = (total: (row: IdleFleetFigures) => number) => Math.round(slope(rows, total) * 10) / 10;
  return {
    sizes,
    heapBytesPerAddedDevice: cost(FIGURES.heapBytesPerAddedDevice),
    rssBytesPerAddedDevice: cost(FIGURES.rssBytesPerAddedDevice),
    startupMicrosPerAddedDevice: cost(FIGURES.startupMicrosPerAddedDevice),
  };
}

/** One row per pair of consecutive sizes, then (for three sizes or more) the slope over all of them. */
export function marginalCosts(rows: readonly IdleFleetFigures[]): MarginalCost[] {
  if (rows.length < 2) return [];
  const sorted = [...rows].sort((a, b) => a.devices - b.devices);
  const label = (row: IdleFleetFigures) => row.devices.toLocaleString('en-US');
  const pairs = sorted.slice(1).map((row, i) => costOver(`${label(sorted[i]!)} → ${label(row)}`, [sorted[i]!, row]));
  return sorted.length > 2 ? [...pairs, costOver('all sizes (least squares)', sorted)] : pairs;
}
