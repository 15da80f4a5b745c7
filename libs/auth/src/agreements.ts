import { Inject, Injectable, Logger } from '@nestjs/common';
import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { ENV, Env } from '@hotline/config';

/** One version of the confidentiality agreement (`config/agreements/<version>.md`). */
export interface Agreement {
  version: string;
  /** The Markdown text, as published. */
  text: string;
}

const VERSION_FILE = /^([0-9A-Za-z][0-9A-Za-z._-]{0,31})\.md$/;

/** Orders versions by their numeric parts (`2` after `1.9`, `2024-10` after `2024-9`), then as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[._-]/);
  const pb = b.split(/[._-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const d = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (d) return d;
  }
  return 0;
}

/**
 * Whether this deployment must publish an agreement: everywhere but the test harness (NODE_ENV=test
 * as under jest, or HOTLINE_TEST_ID, which the suites and the benchmarks set) and the demo
 * (HOTLINE_DEMO). There, a missing, unreadable or empty AGREEMENTS_DIR stops start-up.
 */
export function agreementRequired(env: Pick<Env, 'HOTLINE_DEMO'>, vars: NodeJS.ProcessEnv = process.env): boolean {
  const testHarness = vars.NODE_ENV === 'test' || !!vars.HOTLINE_TEST_ID;
  return !testHarness && env.HOTLINE_DEMO !== '1' && env.HOTLINE_DEMO !== 'true';
}

/**
 * The confidentiality agreement's versions, read from AGREEMENTS_DIR. The current version is the
 * highest. Publishing a new version is dropping a file in the directory: records notices within
 * a quarter of a second (AgreementWatch) and announces it on the sessions channel, and every member must
 * accept it at their next request or socket event; the listing is read again at most once a second.
 *
 * A directory that cannot be read (gone, permissions) keeps the version last read: an agreement
 * once asked for is never dropped by a fault. Outside tests and the demo, records and the gateway
 * refuse to start without a readable directory holding a version (`assertPublished`). A gateway node
 * also takes the version records announces (`announced`), so that a node whose own copy of the
 * directory lags behind still asks for the new one.
 */
@Injectable()
export class AgreementCatalog {
  private readonly logger = new Logger(AgreementCatalog.name);
  private cached?: { at: number; current: Agreement | null };
  /** The version records last announced (undefined: none heard); null: records has none published. */
  private announcedVersion?: string | null;
  /** The directory could not be read at the last look (said in the log once, not at every poll). */
  private unreadable = false;

  constructor(@Inject(ENV) private readonly env: Env) {}

  current(): Agreement | null {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 1000) return this.cached.current;
    return this.refresh();
  }

  /** Reads the directory now (the watcher's poll); a directory that cannot be read keeps what was last read. */
  refresh(): Agreement | null {
    const versions = this.versions();
    if (versions === null) {
      const kept = this.cached?.current ?? null;
      if (kept && !this.unreadable)
        this.logger.error(`AGREEMENTS_DIR ${this.env.AGREEMENTS_DIR} cannot be read: version ${kept.version} stays current`);
      this.unreadable = true;
      this.cached = { at: Date.now(), current: kept };
      return kept;
    }
    this.unreadable = false;
    const top = versions[versions.length - 1];
    const current = top ? (this.read(top) ?? this.cached?.current ?? null) : null;
    this.cached = { at: Date.now(), current };
    return current;
  }

  /** Records announced that `version` is current (a gateway node hears it on the sessions channel). */
  announced(version: string | null): void {
    this.announcedVersion = version;
  }

  /** The version members must have accepted: the directory's, or the one records announced if later. */
  requiredVersion(): string | null {
    const local = this.current()?.version ?? null;
    const heard = this.announcedVersion ?? null;
    if (local === null) return heard;
    if (heard === null) return local;
    return compareVersions(heard, local) > 0 ? heard : local;
  }

  /** Whether `accepted` (a member's highest accepted version) covers the required version. */
  satisfied(accepted: string | null): boolean {
    const required = this.requiredVersion();
    return !required || (accepted !== null && compareVersions(accepted, required) >= 0);
  }

  /** For start-up outside tests and the demo: throws, saying what to do, unless a version can be read. */
  assertPublished(): void {
    const dir = this.env.AGREEMENTS_DIR;
    const versions = this.versions();
    if (versions === null)
      throw new Error(
        `AGREEMENTS_DIR ${dir} cannot be read: the confidentiality agreement must be published (config/agreements/<version>.md) before staff can be served`,
      );
    const top = versions[versions.length - 1];
    if (!top || !this.read(top))
      throw new Error(
        `AGREEMENTS_DIR ${dir} holds no readable agreement (<version>.md): publish the confidentiality agreement before staff can be served`,
      );
    this.refresh();
  }

  /** The versions in the directory, in order; null when it cannot be read. */
  private versions(): string[] | null {
    let names: string[];
    try {
      names = readdirSync(this.env.AGREEMENTS_DIR);
    } catch {
      return null;
    }
    return names
      .map((n) => VERSION_FILE.exec(n)?.[1])
      .filter((v): v is string => !!v)
      .sort(compareVersions);
  }

  private read(version: string): Agreement | null {
    try {
      return { version, text: readFileSync(join(this.env.AGREEMENTS_DIR, `${version}.md`), 'utf8') };
    } catch {
      return null;
    }
  }
}
