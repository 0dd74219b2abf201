/**
 * Per-item triage of an Elasticsearch `_bulk` response (Bulk API docs: "the response body is
 * HTTP 200 even when some actions fail; check `errors` and each item's `status`"). Pure functions.
 *
 * Verdicts: 200/201 → `created`; 409 on `create` (`version_conflict_engine_exception`, "document
 * already exists") → `duplicate`, a success (case C20); 429 and 5xx → `retry` only that item (C19);
 * any other 4xx (`mapper_parsing_exception`, `document_parsing_exception`, …) → `failed`,
 * permanent, dead-lettered (C18). A missing item (short response) is retried.
 */

export type BulkAction = 'create' | 'index';

/** One item of a bulk response: `{ create: {...} }` or `{ index: {...} }`. */
export type BulkResponseItem = Partial<
  Record<
    string,
    {
      _index?: string;
      _id?: string | null;
      status: number;
      result?: string;
      error?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } };
    }
  >
>;

export type ItemVerdict =
  | { readonly kind: 'created' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'retry'; readonly status: number; readonly type: string }
  | { readonly kind: 'failed'; readonly status: number; readonly type: string; readonly reason: string };

/** Classifies one bulk item for an action of type `action`. */
export function triageItem(item: BulkResponseItem | undefined, action: BulkAction): ItemVerdict {
  const body = item ? (item[action] ?? Object.values(item)[0]) : undefined;
  if (!body) return { kind: 'retry', status: 0, type: 'missing_item' };
  const { status } = body;
  const type = body.error?.type ?? 'unknown';
  if (status >= 200 && status < 300) return { kind: 'created' };
  if (status === 409 && action === 'create') return { kind: 'duplicate' };
  if (status === 429 || status >= 500 || status === 409) return { kind: 'retry', status, type };
  const reason = [body.error?.reason, body.error?.caused_by?.reason].filter(Boolean).join(' / ') || `status ${status}`;
  return { kind: 'failed', status, type, reason };
}

/** Triage of a whole response against the actions sent, in order. `errors: false` is not trusted either. */
export function triageBulkResponse(items: readonly BulkResponseItem[], actions: readonly BulkAction[]): ItemVerdict[] {
  return actions.map((a, i) => triageItem(items[i], a));
}

/**
 * Exponential backoff with "equal jitter": half the capped exponential delay plus a random half.
 * `attempt` starts at 0. Returns milliseconds.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
