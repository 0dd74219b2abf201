import type { JsonSource, TextSource } from './types.ts';

/**
 * Registry of input formats, tried in order by the per-line format detector.
 * A new format is one file in this folder plus one line here.
 */
export const jsonSources: readonly JsonSource[] = [];

export const textSources: readonly TextSource[] = [];
