import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Builds small, valid OCI image layouts on disk (OCI Image Layout Specification v1.0:
 * `oci-layout`, `index.json`, `blobs/sha256/<hex>`), so the demo can push real images with
 * `skopeo copy oci:<dir>:<tag> docker://…` without downloading anything.
 */

export interface OciImageSummary {
  /** Directory of the layout (`oci:<dir>:<tag>` for skopeo). */
  readonly dir: string;
  readonly tag: string;
  /** `sha256:<hex>` of the image manifest. */
  readonly manifestDigest: string;
  /** Total bytes of the layer blob (gzip). */
  readonly layerBytes: number;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A POSIX ustar header field: octal, NUL-terminated, zero-padded to `len` bytes. */
function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

/**
 * One-file POSIX ustar archive (IEEE Std 1003.1 "pax"/ustar header layout: 512-byte header,
 * data padded to 512, two zero blocks at the end). Enough for a layer's diff.
 */
export function tarOneFile(name: string, content: Buffer, mtimeSeconds: number): Buffer {
  if (Buffer.byteLength(name) > 99) throw new RangeError(`tar entry name too long: ${name}`);
  const header = Buffer.alloc(512, 0);
  header.write(name, 0, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii'); // mode
  header.write(octal(0, 8), 108, 'ascii'); // uid
  header.write(octal(0, 8), 116, 'ascii'); // gid
  header.write(octal(content.length, 12), 124, 'ascii'); // size
  header.write(octal(mtimeSeconds, 12), 136, 'ascii'); // mtime
  header.write('        ', 148, 'ascii'); // checksum placeholder (8 spaces)
  header.write('0', 156, 'ascii'); // typeflag: regular file
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const pad = (512 - (content.length % 512)) % 512;
  return Buffer.concat([header, content, Buffer.alloc(pad, 0), Buffer.alloc(1024, 0)]);
}

/**
 * Writes an OCI image layout with one image (one gzip layer holding one file of `layerBytes`
 * random bytes, a config, a manifest) tagged `tag`. Every call makes a distinct image (random
 * content), so pushes of different images really upload new blobs.
 * @param dir created if missing.
 * @throws the fs error when `dir` cannot be written.
 */
export async function buildOciLayout(
  dir: string,
  tag: string,
  options: { layerBytes?: number; fileName?: string } = {},
): Promise<OciImageSummary> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer): Promise<{ digest: string; size: number }> => {
    const hex = sha256(b);
    await writeFile(join(blobs, hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const created = new Date();
  const tar = tarOneFile(
    options.fileName ?? 'payload.bin',
    randomBytes(options.layerBytes ?? 4096),
    Math.floor(created.getTime() / 1000),
  );
  const layer = await put(gzipSync(tar));
  const config = await put(
    Buffer.from(
      JSON.stringify({
        created: created.toISOString(),
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/payload.bin'] },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
        history: [{ created: created.toISOString(), created_by: 'regwatch demo' }],
      }),
    ),
  );
  const manifest = await put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, tag, manifestDigest: manifest.digest, layerBytes: layer.size };
}
