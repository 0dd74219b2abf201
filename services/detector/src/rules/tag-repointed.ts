import { z } from 'zod';
import { identityEntity } from '../findings.ts';
import { NONE, type DetectionRule } from './types.ts';
import { cachedRegExp, who } from './evidence.ts';

const params = z.object({
  /** Tags treated as released (immutable by convention). Default: semver-looking, `v` optional. */
  releasedTagPattern: z.string().default('^v?\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$'),
  /** How long a tag → digest mapping is remembered (days). */
  retentionDays: z.number().positive().default(400),
});

/** Keyed state per `<repository>:<tag>`: the digest it points to, who pushed it and when (ms). */
interface TagState {
  digest: string;
  by: string;
  ts: number;
}

/** A new entry, filled by the caller (digest '' until then: a pushed digest is never empty). */
const newTagState = (): TagState => ({ digest: '', by: '', ts: 0 });

/**
 * A push that re-points a released tag (semver-looking) to a different digest; high for a non-CI
 * identity, medium for CI. Mutable tags such as `latest` are never judged. State per
 * repository:tag (current digest), snapshotted.
 */
export const tagRepointed: DetectionRule<z.infer<typeof params>> = {
  id: 'tag.released_repointed',
  description:
    'A released (semver-looking) tag re-pointed to another digest by a push; high when the pusher is not CI.',
  actions: ['manifest-push'],
  paramsSchema: params,
  observe(ev, st, view, p) {
    if (ev.action !== 'manifest-push' || !ev.tag || !ev.digest || !ev.repository || ev.outcome === 'failure')
      return NONE;
    if (!cachedRegExp(p.releasedTagPattern).test(ev.tag)) return NONE;
    // One lookup: `keyed` creates the entry (empty digest: this is the tag's first push, we are
    // done) or returns the previous push. The initializer captures nothing: a closure over this
    // call's variables would make V8 allocate a context on every push, not only the first.
    const cur = view.keyed<TagState>(this.id, `${ev.repository}:${ev.tag}`, newTagState, p.retentionDays * 86_400_000);
    if (cur.digest === '') {
      cur.digest = ev.digest;
      cur.by = st.id;
      cur.ts = ev.ts;
      return NONE;
    }
    if (cur.digest === ev.digest) return NONE;
    const previous = { digest: cur.digest, by: cur.by, ts: cur.ts };
    cur.digest = ev.digest;
    cur.by = st.id;
    cur.ts = ev.ts;
    const ci = view.isCi(st.id);
    return [
      {
        rule: this.id,
        severity: ci ? 'medium' : 'high',
        score: ci ? 55 : 85,
        entity: identityEntity(st.id),
        windowStart: Math.floor(ev.ts / 1000) * 1000,
        windowEnd: Math.floor(ev.ts / 1000) * 1000 + 1000,
        observed: { value: 1, unit: 're-pointed tags' },
        expected: { value: 0, unit: 're-pointed tags', upper: 0 },
        evidence: {
          repositories: [{ name: ev.repository, count: 1 }],
          source_ips: ev.ip ? [{ ip: ev.ip, count: 1 }] : [],
          user_agents: ev.userAgent ? [{ name: ev.userAgent, count: 1 }] : [],
          sample_event_ids: [ev.id],
          extra: {
            tag: ev.tag,
            previous_digest: previous.digest,
            new_digest: ev.digest,
            previous_pusher: previous.by,
            previous_push: new Date(previous.ts).toISOString(),
          },
        },
        message: `${who(st.id, st.kind)}${ci ? ' (CI)' : ''} re-pointed released tag ${ev.repository}:${ev.tag} from ${previous.digest.slice(0, 19)} to ${ev.digest.slice(0, 19)} (1 re-point; released tags are expected to change 0 times).`,
        labels: { repository: ev.repository, tag: ev.tag, ci: String(ci) },
        kql: `oci_registry.repository:"${ev.repository}" and oci_registry.tag:"${ev.tag}"`,
      },
    ];
  },
};
