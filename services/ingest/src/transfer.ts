import type { OciTransfer, RegistryEvent } from '../../../shared/src/model/registry-event.ts';

/**
 * Short-transfer marking (shared CASES C10): a blob GET logged `200` whose bytes written are
 * fewer than the blob's size did not finish (the client gave up; Distribution still logs 200).
 * Pure logic; the size comes from the caller (a joined notification) or from the event itself.
 */

/**
 * The blob size a notification event gives for its request: `oci_registry.size` (Distribution
 * `target.size`, fallback `target.length`, FORMATS.md §1a) of a notification about a blob, in
 * bytes. Undefined for manifests, deletes (`size` 0) and events without a size.
 */
export function blobSizeOf(e: RegistryEvent): number | undefined {
  const o = e.oci_registry;
  if (o.object_kind !== 'blob') return undefined;
  const size = o.size;
  return typeof size === 'number' && Number.isSafeInteger(size) && size > 0 ? size : undefined;
}

/**
 * The `oci_registry.transfer` value for `e` given the blob's size `expectedBytes` (bytes), or
 * undefined when it does not apply: only a `blob-pull` with method GET (not HEAD), status exactly
 * `200` (a `206` answers a Range request and is meant to be short) and a numeric
 * `http.response.body.bytes`. `partial` is `bytes < expectedBytes`; equal (or more) gives
 * `partial: false`. Never throws.
 */
export function transferOf(e: RegistryEvent, expectedBytes: number | undefined): OciTransfer | undefined {
  if (expectedBytes === undefined || !(expectedBytes > 0)) return undefined;
  if (e.event.action !== 'blob-pull' || e.oci_registry.head === true) return undefined;
  const http = e.http;
  if (http?.response?.status_code !== 200) return undefined;
  const method = http.request?.method;
  if (method !== undefined && method.toUpperCase() !== 'GET') return undefined;
  const bytes = http.response.body?.bytes;
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return undefined;
  return { partial: bytes < expectedBytes, expected_bytes: expectedBytes };
}

/**
 * Returns `e` with `oci_registry.transfer` set (a new object; `e` is not mutated) when
 * {@link transferOf} applies, else `e` itself. `expectedBytes` defaults to the event's own blob
 * size (a source that carries both the size and the bytes written). An existing `transfer` is
 * kept (never overwritten).
 */
export function markTransfer(e: RegistryEvent, expectedBytes: number | undefined = blobSizeOf(e)): RegistryEvent {
  if (e.oci_registry.transfer) return e;
  const transfer = transferOf(e, expectedBytes);
  if (!transfer) return e;
  return { ...e, oci_registry: { ...e.oci_registry, transfer } };
}
