/**
 * The top-level values the per-line format detector tests (index.ts: container-runtime wrappers,
 * then the sources' `matchesProbe`), gathered from a parsed JSON object in ONE `for…in` pass.
 *
 * Why: JSON lines arrive in hundreds of key sets (hidden classes). Reading `obj.msg`, `obj.level`,
 * `obj.events`, … by name on each of them is a megamorphic property load, served from V8's shared
 * stub cache; with several formats interleaved, those (class, name) pairs crowd out the entries the
 * rest of the normalizer needs. `for…in` reads each own value by field index instead, no lookup.
 *
 * Each field is the object's own value for that key, or undefined when the key is absent — the
 * same as reading it by name, since none of these names exists on `Object.prototype` and
 * `JSON.parse` only creates own, enumerable data properties.
 */
export interface JsonProbe {
  log: unknown;
  stream: unknown;
  time: unknown;
  message: unknown;
  level: unknown;
  msg: unknown;
  /** `@version` (logstash). */
  atVersion: unknown;
  events: unknown;
  type: unknown;
  action: unknown;
  target: unknown;
  id: unknown;
  /** `correlation_id` (GitLab LabKit). */
  correlationId: unknown;
}

/**
 * Gathers the {@link JsonProbe} values of a plain object parsed by `JSON.parse` (one pass over its
 * own keys; cost proportional to the number of keys, like the parse itself).
 */
export function probeObject(obj: Record<string, unknown>): JsonProbe {
  // One literal with every field: a single hidden class, so every later read is monomorphic.
  const p: JsonProbe = {
    log: undefined,
    stream: undefined,
    time: undefined,
    message: undefined,
    level: undefined,
    msg: undefined,
    atVersion: undefined,
    events: undefined,
    type: undefined,
    action: undefined,
    target: undefined,
    id: undefined,
    correlationId: undefined,
  };
  for (const k in obj) {
    const v = obj[k];
    // JSON keys are internalized strings: the cases compare by identity first.
    switch (k) {
      case 'level':
        p.level = v;
        break;
      case 'msg':
        p.msg = v;
        break;
      case 'time':
        p.time = v;
        break;
      case 'log':
        p.log = v;
        break;
      case 'stream':
        p.stream = v;
        break;
      case 'message':
        p.message = v;
        break;
      case 'events':
        p.events = v;
        break;
      case 'id':
        p.id = v;
        break;
      case 'action':
        p.action = v;
        break;
      case 'target':
        p.target = v;
        break;
      case 'type':
        p.type = v;
        break;
      case '@version':
        p.atVersion = v;
        break;
      case 'correlation_id':
        p.correlationId = v;
        break;
      default:
        break;
    }
  }
  return p;
}
