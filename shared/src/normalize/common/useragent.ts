/**
 * Registry client classification from `User-Agent`. Registry clients send product tokens, not
 * browser strings (moby `dockerversion/useragent.go`; containers/image `containers/<v>
 * (github.com/containers/image)`; containerd, buildkit, cri-o, helm, oras, crane …). Rules are
 * ordered: the first match wins. Docker's `UpstreamClient(...)` part names the program that called
 * the engine; the request itself is still made by the docker engine, so the family is `docker`.
 */

export interface UserAgentClass {
  /** Client family, e.g. `docker`, `containerd`, `podman`, `curl`, or `unknown`. */
  family: string;
  /** Version token of that family when present (`24.0.7`, `v1.7.13`). */
  version?: string;
}

interface Rule {
  readonly family: string;
  readonly re: RegExp;
}

// Order matters: more specific tokens first. Group 1 (optional) is the version.
const RULES: readonly Rule[] = [
  { family: 'harbor', re: /^harbor-(?:registry-client|core|jobservice|exporter)(?:\/(\S+))?/i },
  { family: 'kube-probe', re: /^kube-probe\/(\S+)/ },
  { family: 'docker', re: /^docker\/(\S+)/i },
  { family: 'docker', re: /^Docker-Client\/(\S+)/ },
  { family: 'buildkit', re: /^buildkit\/(\S+)/i },
  { family: 'containerd', re: /^containerd\/(\S+)/ },
  { family: 'cri-o', re: /^cri-o\/(\S+)/i },
  { family: 'podman', re: /^(?:libpod|podman)\/(\S+)/i },
  { family: 'skopeo', re: /^skopeo\/(\S+)/i },
  { family: 'buildah', re: /^buildah\/(\S+)/i },
  { family: 'containers-image', re: /^containers\/(\S+)/ },
  { family: 'kaniko', re: /kaniko(?:\/(\S+))?/i },
  { family: 'crane', re: /^crane\/(\S+)|^go-containerregistry\/(\S+)/ },
  { family: 'helm', re: /^Helm\/(\S+)/i },
  { family: 'oras', re: /^oras\/(\S+)/i },
  { family: 'regctl', re: /^regc(?:lient|tl)\/(\S+)/i },
  { family: 'jib', re: /^jib[ /](\S+)/i },
  { family: 'curl', re: /^curl\/(\S+)/ },
  { family: 'wget', re: /^Wget\/(\S+)/i },
  { family: 'python-requests', re: /^python-requests\/(\S+)/ },
  { family: 'go-http-client', re: /^Go-http-client\/(\S+)/ },
  { family: 'java', re: /^Java\/(\S+)|^Apache-HttpClient\/(\S+)/ },
  { family: 'ruby', re: /^Ruby(?:\/(\S+))?$/ },
];

/**
 * Classifies a registry client from its User-Agent.
 * @returns `{ family: 'unknown' }` for absent/blank or unrecognised values; never throws.
 */
export function classifyUserAgent(ua: string | undefined): UserAgentClass {
  if (typeof ua !== 'string') return { family: 'unknown' };
  // Few distinct user agents per registry: run the rules once per value (bounded memo), return a copy.
  let c = MEMO.get(ua);
  if (c === undefined) {
    c = classify(ua);
    if (MEMO.size >= 4096) MEMO.clear();
    MEMO.set(ua, c);
  }
  return c.version === undefined ? { family: c.family } : { family: c.family, version: c.version };
}
const MEMO = new Map<string, UserAgentClass>();

function classify(ua: string): UserAgentClass {
  const s = ua.trim();
  if (s.length === 0) return { family: 'unknown' };
  for (const rule of RULES) {
    const m = rule.re.exec(s);
    if (m) {
      const version = m.slice(1).find((g) => g !== undefined);
      return version === undefined ? { family: rule.family } : { family: rule.family, version };
    }
  }
  return { family: 'unknown' };
}
