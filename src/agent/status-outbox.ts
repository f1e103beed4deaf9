import { isDownloadEvent, type ComplianceResult, type StatusMessage } from '../domain/status-message.js';
import type { StatusReportType } from '../protocol/documents.js';
import type { Credentials, SiteConnection } from './site-connection.js';

/** Status and compliance results a device has recorded but the site has not yet confirmed. */
export interface Outbox {
  status: StatusMessage[];
  compliance: ComplianceResult[];
}

export const EMPTY_OUTBOX: Outbox = { status: [], compliance: [] };

export function outboxSize(outbox: Outbox): number {
  return outbox.status.length + outbox.compliance.length;
}

/** Removes what the site confirmed; anything recorded meanwhile stays. */
export function withoutDelivered(outbox: Outbox, delivered: ReadonlySet<string>): Outbox {
  return {
    status: outbox.status.filter((m) => !delivered.has(m.id)),
    compliance: outbox.compliance.filter((r) => !delivered.has(r.id)),
  };
}

export interface Delivery {
  delivered: string[];
  /** Why a document was not confirmed, if one was not; its entries stay in the outbox for the next delivery. */
  error: string | null;
}

/**
 * Delivers the outbox, one document per report type: Download Event Status (11030-11035) first, so the site sees
 * a download before the program it enabled, then the 100xx messages, then compliance. Delivery is at least once;
 * the site de-duplicates by id.
 */
export async function deliverOutbox(connection: SiteConnection, credentials: Credentials, outbox: Outbox): Promise<Delivery> {
  const delivered: string[] = [];
  const documents: { type: StatusReportType | 'ComplianceReport'; ids: string[]; send: () => Promise<unknown> }[] = [];
  for (const type of ['DownloadEventStatus', 'SoftwareDistributionStatus'] as const) {
    const messages = outbox.status.filter((m) => isDownloadEvent(m.messageId) === (type === 'DownloadEventStatus'));
    if (messages.length > 0) documents.push({ type, ids: messages.map((m) => m.id), send: () => connection.reportStatus(credentials, type, { messages }) });
  }
  if (outbox.compliance.length > 0) {
    const results = outbox.compliance;
    documents.push({ type: 'ComplianceReport', ids: results.map((r) => r.id), send: () => connection.reportCompliance(credentials, { results }) });
  }
  for (const document of documents) {
    try {
      await document.send();
      delivered.push(...document.ids);
    } catch (error) {
      return { delivered, error: `${document.type}: ${(error as Error).message}` };
    }
  }
  return { delivered, error: null };
}
