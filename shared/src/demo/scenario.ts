import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import { buildOciLayout, type OciImageSummary } from './oci-layout.ts';
import {
  inspectImage,
  pullImage,
  pushImage,
  type Credentials,
  type SkopeoOptions,
  type SkopeoResult,
} from './skopeo.ts';

/**
 * The demo's traffic script, driven with the real skopeo client against a real registry:
 *   1. setup   — owners push small images into many repositories (two teams);
 *   2. normal  — team members pull their own team's images at a human pace;
 *   3. exfil   — one user pulls every repository and tag as fast as it can (a crawl / bulk copy:
 *                rules `repo.crawl`, `pull.volume_spike`);
 *   4. brute   — many logins with wrong passwords from one address (rules `auth.bruteforce_ip`,
 *                `auth.bruteforce_user`).
 */

/**
 * Detection settings for the demo's in-process pipeline: a brand-new registry has no history, so
 * `repo.crawl` judges the crawler against a fixed floor (20 distinct repositories in an hour,
 * normal users touch at most their team's 16) instead of 3× the population's p99.
 */
export const DEMO_DETECTION_CONFIG = {
  rules: { params: { 'repo.crawl': { minRepositories: 20, populationFactor: 1 } } },
};

export interface DemoUsers {
  /** Push images of team A and pull them. */
  readonly alice: Credentials;
  /** Push images of team B and pull them. */
  readonly bob: Credentials;
  /** A reader on team A. */
  readonly carol: Credentials;
  /** The account used for the exfiltration-style burst (valid credentials, unusual behaviour). */
  readonly mallory: Credentials;
}

/** Generated users with random passwords (for a registry the demo starts itself). */
export function generateDemoUsers(): DemoUsers {
  const pw = (): string => randomBytes(12).toString('base64url');
  return {
    alice: { user: 'alice', password: pw() },
    bob: { user: 'bob', password: pw() },
    carol: { user: 'carol', password: pw() },
    mallory: { user: 'mallory', password: pw() },
  };
}

export type DemoPhase = 'setup' | 'normal' | 'exfil' | 'brute' | 'done';

export interface DemoProgress {
  readonly phase: DemoPhase;
  readonly message: string;
}

export interface DemoScenarioOptions {
  /** Registry `host:port` (plain HTTP). */
  readonly host: string;
  readonly users: DemoUsers;
  /** Scratch directory for image layouts and pulled copies (removed at the end). */
  readonly workDir: string;
  /** Total wall time, ms; the normal phase gets what setup and the attacks leave. Default 180 000. */
  readonly durationMs?: number;
  /** Repositories per team. Default 16 (32 in all: above `repo.crawl`'s minimum of 25). */
  readonly reposPerTeam?: number;
  /** Failed logins in the brute-force phase. Default 40 (above `auth.bruteforce_ip`'s 20). */
  readonly bruteAttempts?: number;
  /** Parallel skopeo processes in the bursts. Default 4. */
  readonly concurrency?: number;
  readonly onProgress?: (p: DemoProgress) => void;
  readonly signal?: AbortSignal;
  readonly skopeo?: SkopeoOptions;
}

export interface DemoSummary {
  readonly repositories: readonly string[];
  readonly pushes: number;
  readonly normalPulls: number;
  readonly exfilPulls: number;
  readonly failedLogins: number;
  /** skopeo operations that failed unexpectedly (should be 0). */
  readonly unexpectedFailures: number;
  readonly ms: number;
}

async function pool<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/**
 * Runs the four phases against the registry and resolves with what was done. Each skopeo call is
 * a real client session (a `/v2/` challenge, then authenticated requests).
 * @throws AppError DEMO_TOOL_MISSING when skopeo is absent; DEMO_TOOL_FAILED when setup pushes
 *   fail (wrong credentials for an external registry, registry down).
 */
export async function runDemoScenario(o: DemoScenarioOptions): Promise<DemoSummary> {
  const started = Date.now();
  const duration = o.durationMs ?? 180_000;
  const perTeam = o.reposPerTeam ?? 16;
  const conc = o.concurrency ?? 4;
  const say = (phase: DemoPhase, message: string): void => o.onProgress?.({ phase, message });
  let unexpected = 0;
  const check = (r: SkopeoResult, what: string): boolean => {
    if (r.code === 0) return true;
    unexpected++;
    say('normal', `  ! ${what} failed: ${r.stderr.trim().split('\n').pop()?.slice(0, 200) ?? ''}`);
    return false;
  };
  await mkdir(join(o.workDir, 'pulled'), { recursive: true });
  try {
    // 1. setup
    const images: OciImageSummary[] = [];
    for (let i = 0; i < 3; i++)
      images.push(await buildOciLayout(join(o.workDir, `layout-${i}`), 'latest', { layerBytes: 2048 + i * 8192 }));
    const teams = [
      { ns: 'team-a', owner: o.users.alice, members: [o.users.alice, o.users.carol] },
      { ns: 'team-b', owner: o.users.bob, members: [o.users.bob] },
    ];
    const repos: { name: string; team: (typeof teams)[number] }[] = [];
    for (const t of teams)
      for (let i = 1; i <= perTeam; i++) repos.push({ name: `${t.ns}/service-${String(i).padStart(2, '0')}`, team: t });
    say(
      'setup',
      `setup: ${teams.map((t) => t.owner.user).join(' and ')} push ${repos.length} repositories (2 tags each) to ${o.host}`,
    );
    let pushes = 0;
    await pool(
      repos,
      conc,
      async (r) => {
        const img = images[pushes % images.length]!;
        for (const tag of ['1.0', 'latest']) {
          const res = await pushImage(img.dir, img.tag, o.host, r.name, tag, r.team.owner, o.skopeo);
          if (!check(res, `push ${r.name}:${tag}`) && pushes === 0) {
            throw new AppError(
              'DEMO_TOOL_FAILED',
              `cannot push to ${o.host} as ${r.team.owner.user}: ${res.stderr.trim().split('\n').pop() ?? ''}`,
            );
          }
          pushes++;
        }
      },
      o.signal,
    );
    say('setup', `setup: ${pushes} pushes done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // 2. normal traffic until the time left is what the attacks need (~25% of the run, ≥ 10 s).
    const attackReserve = Math.max(10_000, duration * 0.25);
    const normalUntil = started + duration - attackReserve;
    let normalPulls = 0;
    if (Date.now() < normalUntil)
      say(
        'normal',
        `normal: team members pull their own images for ${Math.round((normalUntil - Date.now()) / 1000)} s (look: no findings expected)`,
      );
    let k = 0;
    while (Date.now() < normalUntil && !o.signal?.aborted) {
      const team = teams[k % teams.length]!;
      const user = team.members[k % team.members.length]!;
      const mine = repos.filter((r) => r.team === team);
      const repo = mine[(k * 7) % mine.length]!;
      const dest = join(o.workDir, 'pulled', `n-${k}`);
      if (check(await pullImage(o.host, repo.name, 'latest', dest, user, o.skopeo), `pull ${repo.name}`)) normalPulls++;
      await rm(dest, { recursive: true, force: true });
      k++;
      await sleep(Math.min(1500, Math.max(0, normalUntil - Date.now())));
    }
    say(
      'normal',
      `normal: ${normalPulls} pulls by ${[...new Set(teams.flatMap((t) => t.members.map((m) => m.user)))].join(', ')}`,
    );

    // 3. exfiltration-style burst: one account pulls every repository and tag, fast.
    say(
      'exfil',
      `exfil: ${o.users.mallory.user} pulls all ${repos.length} repositories × 2 tags as fast as possible (look for repo.crawl / pull.volume_spike)`,
    );
    let exfilPulls = 0;
    const targets = repos.flatMap((r) => ['1.0', 'latest'].map((tag) => ({ r, tag })));
    await pool(
      targets,
      conc,
      async ({ r, tag }) => {
        const dest = join(o.workDir, 'pulled', `x-${r.name.replace('/', '_')}-${tag}`);
        if (check(await pullImage(o.host, r.name, tag, dest, o.users.mallory, o.skopeo), `exfil pull ${r.name}:${tag}`))
          exfilPulls++;
        await rm(dest, { recursive: true, force: true });
      },
      o.signal,
    );
    say('exfil', `exfil: ${exfilPulls} image pulls by ${o.users.mallory.user}`);

    // 4. brute force: wrong passwords against a real account, from one address.
    const attempts = o.bruteAttempts ?? 40;
    say(
      'brute',
      `brute force: ${attempts} logins as ${o.users.alice.user} with wrong passwords (look for auth.bruteforce_ip / auth.bruteforce_user)`,
    );
    let failedLogins = 0;
    await pool(
      Array.from({ length: attempts }, (_, i) => i),
      conc,
      async (i) => {
        const r = await inspectImage(
          o.host,
          repos[0]!.name,
          'latest',
          { user: o.users.alice.user, password: `guess-${i}-${randomBytes(3).toString('hex')}` },
          o.skopeo,
        );
        if (r.code !== 0) failedLogins++;
        else unexpected++;
      },
      o.signal,
    );
    say('brute', `brute force: ${failedLogins} rejected logins`);
    say('done', `traffic done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return {
      repositories: repos.map((r) => r.name),
      pushes,
      normalPulls,
      exfilPulls,
      failedLogins,
      unexpectedFailures: unexpected,
      ms: Date.now() - started,
    };
  } finally {
    await rm(o.workDir, { recursive: true, force: true });
  }
}
