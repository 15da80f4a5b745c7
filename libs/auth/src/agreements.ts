import { Inject, Injectable } from '@nestjs/common';
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
 * The confidentiality agreement's versions, read from AGREEMENTS_DIR. The current version is the
 * highest. Publishing a new version is dropping a file in the directory: every app sees it within a
 * second (the listing is read again at most once a second), and every member must accept it at their
 * next request. An empty or missing directory means no agreement is asked for.
 */
@Injectable()
export class AgreementCatalog {
  private cached?: { at: number; current: Agreement | null };

  constructor(@Inject(ENV) private readonly env: Env) {}

  current(): Agreement | null {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 1000) return this.cached.current;
    const versions = this.versions();
    const top = versions[versions.length - 1];
    const current = top ? this.read(top) : null;
    this.cached = { at: now, current };
    return current;
  }

  /** Whether `accepted` (a member's highest accepted version) covers the current version. */
  satisfied(accepted: string | null): boolean {
    const current = this.current();
    return !current || (accepted !== null && compareVersions(accepted, current.version) >= 0);
  }

  private versions(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.env.AGREEMENTS_DIR);
    } catch {
      return [];
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
