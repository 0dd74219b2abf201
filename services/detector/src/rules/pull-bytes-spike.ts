import { fmtBytes } from '../findings.ts';
import { baselineSpikeRule } from './baseline-spike.ts';

/** Blob bytes downloaded per identity per hour far above its baseline (data exfiltration). */
export const pullBytesSpike = baselineSpikeRule({
  id: 'pull.bytes_spike',
  metric: 'bytes',
  unit: 'bytes',
  minValue: 2 * 1024 ** 3,
  description:
    'Blob bytes downloaded per identity per hour far above that identity’s hour-of-week baseline (or the population when it has no history).',
  verb: (v) => `downloaded ${fmtBytes(v)} of blobs`,
});
