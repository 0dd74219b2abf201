/**
 * Builds a typed name → component map and fails fast on duplicate names or a key that does not
 * match the component's own `id`. Registries are how rules, channels and sources are turned on:
 * one file per component, one line in the registry.
 * @throws Error on a duplicate or mismatched name (a programming error, caught at start-up).
 */
export function defineRegistry<T extends { readonly id: string }>(
  kind: string,
  items: readonly T[],
): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    if (map.has(item.id)) throw new Error(`${kind} registry: duplicate id "${item.id}"`);
    map.set(item.id, item);
  }
  return map;
}
