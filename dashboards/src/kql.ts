/**
 * The small KQL subset our panels use, parsed to a tree and translated to Elasticsearch query
 * DSL (for the integration checks and the offline field checks). Grammar (KQL, Kibana docs
 * "KQL"): `expr := and ('or' and)*`, `and := unary ('and' unary)*`,
 * `unary := 'not' unary | '(' expr ')' | field ':' value | field ':' '(' value ('or' value)* ')'
 *  | field ':' '*' | field ('<'|'<='|'>'|'>=') number`, values quoted strings, numbers or
 * `true`/`false`. Anything else throws, so a panel query outside the subset fails the build.
 */

export type KqlNode =
  | { t: 'and' | 'or'; items: KqlNode[] }
  | { t: 'not'; item: KqlNode }
  | { t: 'match'; field: string; values: (string | number | boolean)[] }
  | { t: 'exists'; field: string }
  | { t: 'range'; field: string; op: 'lt' | 'lte' | 'gt' | 'gte'; value: number };

const TOKEN = /\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|(<=|>=|<|>|:)|([^\s():<>"]+))/y;

function tokenize(q: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < q.length) {
    if (/^\s*$/.test(q.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(q);
    if (!m) throw new Error(`KQL: cannot read "${q.slice(TOKEN.lastIndex)}"`);
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5] ?? '');
  }
  return out;
}

function literal(tok: string): string | number | boolean {
  if (tok.startsWith('"')) return JSON.parse(tok) as string;
  if (tok === 'true' || tok === 'false') return tok === 'true';
  if (/^-?\d+(\.\d+)?$/.test(tok)) return Number(tok);
  return tok;
}

/** Parses a query in the subset. An empty query gives `undefined`. @throws Error outside the subset. */
export function parseKql(q: string): KqlNode | undefined {
  const toks = tokenize(q);
  if (toks.length === 0) return undefined;
  let i = 0;
  const peek = () => toks[i];
  const next = () => {
    const t = toks[i++];
    if (t === undefined) throw new Error(`KQL: unexpected end of "${q}"`);
    return t;
  };
  const kw = (t: string | undefined, w: string) => t !== undefined && t.toLowerCase() === w;
  const expr = (): KqlNode => {
    const items = [and()];
    while (kw(peek(), 'or')) {
      i++;
      items.push(and());
    }
    return items.length === 1 ? items[0]! : { t: 'or', items };
  };
  const and = (): KqlNode => {
    const items = [unary()];
    while (kw(peek(), 'and')) {
      i++;
      items.push(unary());
    }
    return items.length === 1 ? items[0]! : { t: 'and', items };
  };
  const unary = (): KqlNode => {
    const t = next();
    if (kw(t, 'not')) return { t: 'not', item: unary() };
    if (t === '(') {
      const e = expr();
      if (next() !== ')') throw new Error(`KQL: missing ) in "${q}"`);
      return e;
    }
    const field = t;
    const op = next();
    if (op === ':') {
      const v = next();
      if (v === '*') return { t: 'exists', field };
      if (v === '(') {
        const values = [literal(next())];
        while (kw(peek(), 'or')) {
          i++;
          values.push(literal(next()));
        }
        if (next() !== ')') throw new Error(`KQL: missing ) in "${q}"`);
        return { t: 'match', field, values };
      }
      return { t: 'match', field, values: [literal(v)] };
    }
    const ops = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' } as const;
    if (op in ops) {
      const value = literal(next());
      if (typeof value !== 'number') throw new Error(`KQL: range on ${field} needs a number`);
      return { t: 'range', field, op: ops[op as keyof typeof ops], value };
    }
    throw new Error(`KQL: expected ":" or a comparison after ${field} in "${q}"`);
  };
  const node = expr();
  if (i !== toks.length) throw new Error(`KQL: unexpected "${toks[i] ?? ''}" in "${q}"`);
  return node;
}

/** Every field a query mentions. */
export function kqlFields(node: KqlNode | undefined): string[] {
  if (!node) return [];
  switch (node.t) {
    case 'and':
    case 'or':
      return node.items.flatMap(kqlFields);
    case 'not':
      return kqlFields(node.item);
    default:
      return [node.field];
  }
}

/** Elasticsearch query DSL for a parsed query (`match_all` for none). */
export function kqlToEs(node: KqlNode | undefined): Record<string, unknown> {
  if (!node) return { match_all: {} };
  switch (node.t) {
    case 'and':
      return { bool: { filter: node.items.map(kqlToEs) } };
    case 'or':
      return { bool: { should: node.items.map(kqlToEs), minimum_should_match: 1 } };
    case 'not':
      return { bool: { must_not: [kqlToEs(node.item)] } };
    case 'exists':
      return { exists: { field: node.field } };
    case 'range':
      return { range: { [node.field]: { [node.op]: node.value } } };
    case 'match':
      return node.values.length === 1
        ? { match_phrase: { [node.field]: node.values[0] } }
        : {
            bool: { should: node.values.map((v) => ({ match_phrase: { [node.field]: v } })), minimum_should_match: 1 },
          };
  }
}

/**
 * KQL that leaves out the later copies of a request (`oci_registry.duplicate: true`, set by ingest
 * when a request's notification, app-log line and access line are all stored; shared CASES C12).
 * Written as a negation so documents stored before the field existed still count.
 */
export const NOT_DUPLICATE = 'not oci_registry.duplicate : true';

/**
 * KQL for sums of `http.response.body.bytes`: leaves out copies whose bytes an earlier copy of
 * the same request already carries (`oci_registry.duplicate_bytes: true`). Not {@link NOT_DUPLICATE}:
 * the copy that counts a request may be its notification, which has no bytes.
 */
export const BYTES_ONCE = 'not oci_registry.duplicate_bytes : true';

/**
 * `query` restricted to the documents that count each registry request once: for panels that
 * count requests. Sums of `http.response.body.bytes` use {@link BYTES_ONCE} as their column
 * filter; image pulls need neither (`oci_registry.image_pull` is true on one copy per request).
 */
export function countedOnce(query?: string): string {
  return query && query.trim().length > 0 ? `(${query}) and ${NOT_DUPLICATE}` : NOT_DUPLICATE;
}
