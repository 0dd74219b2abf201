/**
 * Filesystem collector for a Distribution registry on the filesystem storage driver:
 * `fs.statfs` of the storage root gives the volume's used and total bytes (what fills up), and a
 * walk of `docker/registry/v2/blobs` and `docker/registry/v2/repositories` gives the bytes the
 * registry itself holds (layout: distribution/distribution `registry/storage/paths.go`).
 * Bytes are counted as allocated blocks (st_blocks × 512, what the volume loses), falling back to
 * the apparent size when the filesystem reports no blocks.
 */
import { statfs, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../../shared/src/errors.ts';
import type { StorageSampleRecord } from './types.ts';

/** Total bytes under `dir` (files only, symlinks not followed); 0 when `dir` does not exist. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          const st = await lstat(p);
          total += st.blocks > 0 ? st.blocks * 512 : st.size;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed while walking (GC)
        }
      }
    }
  }
  return total;
}

/**
 * Measures the storage root of a registry.
 * @param root the registry's `rootdirectory` (contains `docker/registry/v2`).
 * @param now sample time.
 * @returns one sample, scope `fs:<root>`: used/capacity of the volume plus the registry's own bytes.
 * @throws AppError STORAGE_COLLECT_FAILED (retriable) when statfs or the walk fails.
 */
export async function collectFilesystem(root: string, now: Date = new Date()): Promise<StorageSampleRecord> {
  try {
    const fs = await statfs(root, { bigint: true });
    const capacity = Number(fs.blocks * fs.bsize);
    const used = Number((fs.blocks - fs.bfree) * fs.bsize);
    const v2 = join(root, 'docker', 'registry', 'v2');
    const [blobs, repositories] = await Promise.all([
      treeBytes(join(v2, 'blobs')),
      treeBytes(join(v2, 'repositories')),
    ]);
    return {
      timestamp: now.toISOString(),
      used_bytes: used,
      capacity_bytes: capacity,
      scope: `fs:${root}`,
      source: 'statfs',
      registry_bytes: { blobs, repositories, total: blobs + repositories },
    };
  } catch (err) {
    throw new AppError('STORAGE_COLLECT_FAILED', `cannot measure ${root}: ${(err as Error).message}`, {
      retriable: true,
      cause: err,
    });
  }
}
