/**
 * A storage usage sample as published on `regwatch.storage` (and accepted by the receiver's
 * `POST /v1/storage` as `{timestamp, used_bytes, capacity_bytes, scope}`; the other fields are
 * optional). Bytes are bytes (10^0), timestamps ISO 8601 UTC.
 */
export interface StorageSampleRecord {
  readonly timestamp: string;
  /** Bytes in use in this scope (statfs: used bytes of the volume; Harbor: quota used). */
  readonly used_bytes: number;
  /** Capacity of the scope in bytes (volume size or quota hard limit); 0 when unlimited/unknown. */
  readonly capacity_bytes: number;
  /** Scope id: `fs:<path>`, `harbor:<project>`, `events:<registry>`. */
  readonly scope: string;
  /** Where the sample came from. */
  readonly source?: 'statfs' | 'harbor_quota' | 'events_estimate' | 'api';
  /** True when reconstructed from events rather than measured. */
  readonly estimate?: boolean;
  /**
   * Bytes held by the registry's own tree (Distribution filesystem driver layout): allocated
   * blocks, and in `apparent` the file lengths (for `blobs`, the sum of the blob sizes).
   */
  readonly registry_bytes?: {
    readonly blobs: number;
    readonly repositories: number;
    readonly total: number;
    readonly apparent?: { readonly blobs: number; readonly repositories: number; readonly total: number };
  };
}

/** Where collectors put samples: the bus (full mode) or a local store (embedded mode). */
export interface StorageSink {
  /** Resolves once every sample is durably written/acknowledged. */
  write(samples: readonly StorageSampleRecord[]): Promise<void>;
  close(): Promise<void>;
}
