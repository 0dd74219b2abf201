import type { InhibitRule } from './config.ts';
import { matchAll } from './matchers.ts';
import type { Labels } from './labels.ts';

/** A firing alert that may inhibit others. */
export interface InhibitSource {
  readonly key: string;
  readonly labels: Labels;
}

/**
 * Alertmanager inhibition: a target alert is muted when some *other* firing alert matches a
 * rule's `source_matchers`, the target matches its `target_matchers`, and both carry equal
 * values (a missing label counts as empty) for every label in `equal`.
 * @returns true when inhibited.
 */
export function isInhibited(
  targetKey: string,
  target: Labels,
  sources: readonly InhibitSource[],
  rules: readonly InhibitRule[],
): boolean {
  for (const rule of rules) {
    if (!matchAll(rule.target_matchers, target)) continue;
    for (const s of sources) {
      if (s.key === targetKey) continue;
      if (!matchAll(rule.source_matchers, s.labels)) continue;
      // An alert matching both sides does not inhibit a target that also matches both (Alertmanager).
      if (matchAll(rule.target_matchers, s.labels) && matchAll(rule.source_matchers, target)) continue;
      if (rule.equal.every((n) => (s.labels[n] ?? '') === (target[n] ?? ''))) return true;
    }
  }
  return false;
}
