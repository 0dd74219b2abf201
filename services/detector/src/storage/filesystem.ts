/**
 * Filesystem collector for a Distribution registry on the filesystem storage driver:
 * `fs.statfs` of the storage root gives the volume's used and total bytes (what fills up), and a
 * walk of `docker/registry/v2/blobs` and `docker/registry/v2/repositories` gives the bytes the
 * registry itself holds (layout: distribution/distribution `registry/storage/paths.go`).
 * Bytes are counted two ways: allocated blocks (st_blocks × 512, what the volume loses; the
 * apparent size when the filesystem reports no blocks) in `registry_bytes.{blobs,repositories,total}`,
 * and the apparent size (file length, `du --apparent-size`) in `registry_bytes.apparent`, which for
 * `blobs` equals the sum of the stored blobs' descriptor sizes (the unit of Harbor quotas and of
 * the sizes in registry notifications).
 */
import { statfs, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../../shared/src/errors.ts';
import type { StorageSampleRecord } from './types.ts';

/** Bytes of the regular files under a directory, counted two ways. */
export interface TreeUsage {
  /** Regular files seen. */
  files: number;
  /** Sum of file lengths (st_size), bytes. */
  apparent: number;
  /** Sum of allocated blocks (st_blocks × 512; st_size when the filesystem reports no blocks), bytes. */
  allocated: number;
}

/**
 * Walks `dir` (files only, symlinks not followed) and sums the sizes of its regular files.
 * Files removed while walking (garbage collection) are skipped.
 * @returns zeros when `dir` does not exist; rethrows any other fs error.
 */
export async function treeUsage(dir: string): Promise<TreeUsage> {
  const usage: TreeUsage = { files: 0, apparent: 0, allocated: 0 };
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
          usage.files++;
          usage.apparent += st.size;
          usage.allocated += st.blocks > 0 ? st.blocks * 512 : st.size;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed while walking (GC)
        }
      }
    }
  }
  return usage;
}

/** Allocated bytes under `dir` (see {@link treeUsage}); 0 when `dir` does not exist. */
export async function treeBytes(dir: string): Promise<number> {
  return (await treeUsage(dir)).allocated;
}

/**
 * Measures the storage root of a registry.
 * @param root the registry's `rootdirectory` (contains `docker/registry/v2`).
 * @param now sample time.
 * @returns one sample, scope `fs:<root>`: used/capacity of the volume (statfs, bytes) plus the
 *   registry's own bytes (`registry_bytes`: allocated, and `apparent` file lengths).
 * @throws AppError STORAGE_COLLECT_FAILED (retriable) when statfs or the walk fails.
 */
export async function collectFilesystem(root: string, now: Date = new Date()): Promise<StorageSampleRecord> {
  try {
    const fs = await statfs(root, { bigint: true });
    const capacity = Number(fs.blocks * fs.bsize);
    const used = Number((fs.blocks - fs.bfree) * fs.bsize);
    const v2 = join(root, 'docker', 'registry', 'v2');
    const [blobs, repositories] = await Promise.all([
      treeUsage(join(v2, 'blobs')),
      treeUsage(join(v2, 'repositories')),
    ]);
    return {
      timestamp: now.toISOString(),
      used_bytes: used,
      capacity_bytes: capacity,
      scope: `fs:${root}`,
      source: 'statfs',
      registry_bytes: {
        blobs: blobs.allocated,
        repositories: repositories.allocated,
        total: blobs.allocated + repositories.allocated,
        apparent: {
          blobs: blobs.apparent,
          repositories: repositories.apparent,
          total: blobs.apparent + repositories.apparent,
        },
      },
    };
  } catch (err) {
    throw new AppError('STORAGE_COLLECT_FAILED', `cannot measure ${root}: ${(err as Error).message}`, {
      retriable: true,
      cause: err,
    });
  }
}
