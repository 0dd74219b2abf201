import type { IdentityState } from './types.ts';

/** Kinds of first-seen values kept per identity (one shared hash set, seeded per kind). */
export const SEEN = { namespace: 1, network: 2, client: 3 } as const;
export type SeenKind = keyof typeof SEEN;

/** True when the identity has used `value` of this kind before. */
export function hasSeen(st: IdentityState, kind: SeenKind, value: string): boolean {
  return st.seen.has(value, SEEN[kind]);
}

/** Records `value`; returns true when it is new for the identity. */
export function markSeen(st: IdentityState, kind: SeenKind, value: string): boolean {
  if (!st.seen.add(value, SEEN[kind])) return false;
  const i = SEEN[kind] - 1;
  st.seenCounts[i] = (st.seenCounts[i] ?? 0) + 1;
  return true;
}

/** How many distinct values of this kind the identity has used. */
export function seenCount(st: IdentityState, kind: SeenKind): number {
  return st.seenCounts[SEEN[kind] - 1] ?? 0;
}
