import { baselineSpikeRule } from './baseline-spike.ts';

/** Image pulls per identity per hour far above its hour-of-week baseline (bulk pull, exfiltration). */
export const pullVolumeSpike = baselineSpikeRule({
  id: 'pull.volume_spike',
  metric: 'pulls',
  unit: 'count',
  minValue: 50,
  description:
    'Image pulls per identity per hour far above that identity’s hour-of-week baseline (or the population when it has no history).',
  verb: (v) => `pulled ${v.toLocaleString('en-US')} images`,
});
