import type { AlertsConfig, RouteInput } from './config.ts';
import { matchAll, type Matcher } from './matchers.ts';
import type { Labels } from './labels.ts';

/** A route with Alertmanager's inheritance applied (children inherit receiver, group_by, timings). */
export interface Route {
  /** Position in the tree, e.g. `0.2.1` (stable while the config does not change). */
  readonly id: string;
  readonly receiver: string;
  /** Label names to group by; `['...']` means every label (one group per alert). */
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly sendResolved: boolean;
  readonly matchers: readonly Matcher[];
  readonly continue: boolean;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
  readonly routes: readonly Route[];
}

/** Alertmanager's defaults: group_wait 30s, group_interval 5m, repeat_interval 4h. */
const DEFAULTS = { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 };

function build(input: RouteInput, parent: Route | undefined, id: string): Route {
  const base: Omit<Route, 'routes'> = {
    id,
    receiver: input.receiver ?? parent?.receiver ?? '',
    groupBy: input.group_by ?? parent?.groupBy ?? [],
    groupWaitMs: input.group_wait ?? parent?.groupWaitMs ?? DEFAULTS.groupWaitMs,
    groupIntervalMs: input.group_interval ?? parent?.groupIntervalMs ?? DEFAULTS.groupIntervalMs,
    repeatIntervalMs: input.repeat_interval ?? parent?.repeatIntervalMs ?? DEFAULTS.repeatIntervalMs,
    sendResolved: input.send_resolved ?? parent?.sendResolved ?? true,
    matchers: input.matchers ?? [],
    continue: input.continue ?? false,
    // Alertmanager: mute/active intervals are not inherited by child routes.
    muteTimeIntervals: input.mute_time_intervals ?? [],
    activeTimeIntervals: input.active_time_intervals ?? [],
  };
  const self = { ...base, routes: [] as Route[] };
  self.routes = (input.routes ?? []).map((c, i) => build(c, self, `${id}.${i}`));
  return self;
}

/** Builds the routing tree from config. */
export function buildRouteTree(cfg: AlertsConfig): Route {
  return build(cfg.route, undefined, '0');
}

/**
 * Finds the routes an alert goes to, as Alertmanager does: depth-first; the first matching
 * child wins unless it has `continue: true`; when no child matches, the node itself matches.
 * @returns at least one route (the root matches everything).
 */
export function matchRoutes(root: Route, labels: Labels): Route[] {
  const visit = (node: Route): Route[] => {
    if (!matchAll(node.matchers, labels)) return [];
    const out: Route[] = [];
    for (const child of node.routes) {
      const m = visit(child);
      if (m.length > 0) {
        out.push(...m);
        if (!child.continue) break;
      }
    }
    return out.length > 0 ? out : [node];
  };
  return visit(root);
}

/** Index of a tree by route id. */
export function indexRoutes(root: Route): ReadonlyMap<string, Route> {
  const m = new Map<string, Route>();
  const walk = (r: Route): void => {
    m.set(r.id, r);
    r.routes.forEach(walk);
  };
  walk(root);
  return m;
}
