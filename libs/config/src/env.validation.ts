import { Transform } from 'class-transformer';
import { IsBase64, IsIP, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, MinLength, ValidateBy } from 'class-validator';
import { networkListProblem } from './networks';

/** Why `v` is no list of ISO 3166 alpha-2 country codes (each known to the platform's ICU), or null when it is one. */
export function countryListProblem(v: unknown): string | null {
  if (typeof v !== 'string') return 'not a text';
  const codes = v.split(',').map((c) => c.trim());
  if (!codes.length || codes.some((c) => !c)) return 'an empty entry';
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  for (const c of codes) {
    if (!/^[A-Za-z]{2}$/.test(c)) return `"${c}" is not a two-letter code`;
    // ICU also names codes that are no country (EU, UN, ZZ) or not ISO 3166's (UK: use GB).
    if (c.toUpperCase() === 'UK') return '"UK" is not ISO 3166: the United Kingdom is GB';
    if (!names.of(c.toUpperCase()) || ['EU', 'EZ', 'UN', 'ZZ', 'QO'].includes(c.toUpperCase())) return `"${c}" is no country`;
  }
  return null;
}

/**
 * Every variable the apps read, with its rule. Defaults live in `defaults.ts`;
 * secrets have none: outside demo mode a missing secret stops the app.
 */
export class EnvironmentVariables {
  @Matches(/^mysql:\/\/[^\s]+$/, { message: 'DATABASE_URL must be a mysql:// URL' })
  DATABASE_URL: string;

  @Matches(/^mysql:\/\/[^\s]+$/, { message: 'KEYSTORE_URL must be a mysql:// URL' })
  KEYSTORE_URL: string;

  @Matches(/^rediss?:\/\/[^\s]+$/, { message: 'REDIS_URL must be a redis:// URL' })
  REDIS_URL: string;

  @IsInt()
  @Min(0)
  @Max(65535)
  GATEWAY_PORT: number;

  @IsInt()
  @Min(0)
  @Max(65535)
  RECORDS_PORT: number;

  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_PORT: number;

  /** The address records listens on: loopback unless it must be reached from another host (compose: 0.0.0.0). */
  @IsIP(undefined, { message: 'RECORDS_HOST must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::)' })
  RECORDS_HOST: string;

  /** The address the worker's health and metrics listen on: loopback unless scraped from another host. */
  @IsIP(undefined, { message: 'WORKER_HOST must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::)' })
  WORKER_HOST: string;

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'PUBLIC_URL must be an absolute http(s) URL' })
  PUBLIC_URL: string;

  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'RECORDS_URL must be an absolute http(s) URL' })
  RECORDS_URL: string;

  @IsOptional()
  @Matches(/^AC[0-9a-fA-F]{32}$/, { message: 'TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits' })
  TWILIO_ACCOUNT_SID?: string;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'TWILIO_AUTH_TOKEN is too short' })
  TWILIO_AUTH_TOKEN?: string;

  /** Gateway only: a second auth token whose signatures are also accepted, during a rotation (docs/configuration.md). */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'TWILIO_AUTH_TOKEN_SECONDARY is too short' })
  TWILIO_AUTH_TOKEN_SECONDARY?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true }, { message: 'TWILIO_API_URL must be an absolute http(s) URL' })
  TWILIO_API_URL?: string;

  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'TWILIO_SMS_FROM must be an E.164 number' })
  TWILIO_SMS_FROM?: string;

  @IsOptional()
  @IsString()
  TWILIO_API_KEY_SID?: string;

  @IsOptional()
  @IsString()
  TWILIO_API_KEY_SECRET?: string;

  @IsOptional()
  @IsString()
  TWILIO_TWIML_APP_SID?: string;

  /**
   * Every app that dials (gateway, records): the outbound calls per second the Twilio account allows
   * (Twilio's CPS). New legs wait their turn, live calls first, shared by every process through Redis.
   * Default 1 (Twilio's own default); read here as an integer and defaulted here.
   */
  @Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  @ValidateBy({
    name: 'callsPerSecond',
    validator: {
      validate: (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 10_000,
      defaultMessage: () => 'TWILIO_CPS must be a whole number of calls per second, 1 to 10000',
    },
  })
  TWILIO_CPS: number = 1;

  /**
   * Gateway, records (issue 24): the countries a callback or follow-up may dial, ISO 3166 alpha-2 codes,
   * comma-separated (`GB,IE`). Unset: the country of `hotlineNumber` in the routing file. Premium-rate,
   * shared-cost and other special ranges are refused whatever the country (libs/calls callback-policy).
   */
  @IsOptional()
  @ValidateBy({
    name: 'countryList',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && countryListProblem(v) === null,
      defaultMessage: (a) => `CALLBACK_COUNTRIES must be comma-separated ISO 3166 country codes (GB,US): ${countryListProblem(a?.value)}`,
    },
  })
  CALLBACK_COUNTRIES?: string;

  /** PEM P-256 private key that signs staff tokens (ES256): records only. */
  @IsOptional()
  @IsString()
  @Matches(/BEGIN PRIVATE KEY/, { message: 'TOKEN_PRIVATE_KEY must be a PEM private key (P-256)' })
  TOKEN_PRIVATE_KEY?: string;

  /** PEM public key(s) that verify staff tokens, every app; several concatenated during rotation (tokens carry `kid`). */
  @IsOptional()
  @IsString()
  @Matches(/BEGIN PUBLIC KEY/, { message: 'TOKEN_PUBLIC_KEY must be PEM public key(s)' })
  TOKEN_PUBLIC_KEY?: string;

  /** Retired (staff tokens are ES256 now); an app given it warns. */
  @IsOptional()
  @IsString()
  JWT_SECRET?: string;

  @IsOptional()
  @IsBase64({}, { message: 'MASTER_KEY must be base64 of 32 bytes' })
  MASTER_KEY?: string;

  /** Earlier master keys, comma-separated base64, kept only while `keys:rotate` re-wraps data keys. */
  @IsOptional()
  @IsString()
  MASTER_KEY_OLD?: string;

  @IsOptional()
  @IsBase64({}, { message: 'PSEUDONYM_KEY must be base64' })
  PSEUDONYM_KEY?: string;

  @IsOptional()
  @Matches(/^[a-zA-Z0-9_.-]{3,64}:.{12,}$/, {
    message: 'BOOTSTRAP_ADMIN must be username:password with a password of 12 characters or more',
  })
  BOOTSTRAP_ADMIN?: string;

  @IsInt()
  @Min(1)
  @Max(600)
  OFFER_TIMEOUT_SECONDS: number;

  @IsString()
  RETENTION_CONFIG: string;

  /** Opening hours, overflow choices, callbacks (config/routing.yaml by default), checked at start. */
  @IsString()
  ROUTING_CONFIG: string;

  /** What callers hear (config/wording.yaml by default), checked at start. */
  @IsString()
  WORDING_FILE: string;

  @IsString()
  TIME_ZONE: string;

  @IsInt()
  @Min(1)
  @Max(600)
  SERVICE_LEVEL_SECONDS: number;

  /** Complaints (issue 17): days to acknowledge a complaint (start investigating), and to resolve it. */
  @IsInt()
  @Min(1)
  @Max(365)
  COMPLAINT_ACK_DAYS: number;

  @IsInt()
  @Min(1)
  @Max(365)
  COMPLAINT_RESOLVE_DAYS: number;

  /** Research export: every exported row is indistinguishable from at least RESEARCH_K - 1 others. */
  @IsInt()
  @Min(2)
  @Max(1000)
  RESEARCH_K: number;

  /**
   * Research export: the period it is released by, `month` (calendar months, UTC) or `week` (ISO weeks,
   * Monday 00:00 UTC); only whole periods that have ended.
   */
  @IsIn(['month', 'week'], { message: 'RESEARCH_PERIOD must be month or week' })
  RESEARCH_PERIOD: 'month' | 'week';

  @IsInt()
  @Min(60)
  @Max(86400)
  SESSION_TTL_SECONDS: number;

  /** How long an operator whose console dropped keeps their state (and the call they are on). */
  @IsInt()
  @Min(0)
  @Max(3600)
  OPERATOR_GRACE_SECONDS: number;

  /** Longest pause in the wait loop before Twilio asks the wait URL again (which re-registers a call Redis lost). */
  @IsInt()
  @Min(1)
  @Max(120)
  WAIT_PAUSE_SECONDS: number;

  /**
   * How an accepted caller is bridged to the operator: `conference` (a Twilio conference named after
   * the call id, which allows hold, transfer and supervision) or `direct` (`<Dial><Client>`, the
   * fallback the conference path itself uses when Twilio cannot create the conference).
   */
  @IsIn(['conference', 'direct'], { message: 'CALL_BRIDGE must be conference or direct' })
  CALL_BRIDGE: 'conference' | 'direct';

  /** `config/directory.yaml`: the external numbers operators may bring into a call (warm transfer). */
  @IsString()
  DIRECTORY_FILE: string;

  /**
   * Twilio refuses (20009) to delete a call in progress or only just over ("wait at least a minute"):
   * the first retry waits this long, doubling to eight times it, for eight rounds (libs/jobs NotYet).
   */
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  TWILIO_DELETE_RETRY_MS: number;

  /** How long a transfer target's leg may ring before the caller goes back to the transferring operator. */
  @IsInt()
  @Min(5)
  @Max(120)
  TRANSFER_RING_SECONDS: number;

  /** How often each gateway node sweeps expired offers and re-matches waiting calls. */
  @IsInt()
  @Min(20)
  @Max(10000)
  ROUTING_SWEEP_MS: number;

  /** Fallback: delete an SMS at Twilio this long after sending, if no final status callback came. */
  @IsInt()
  @Min(1)
  @Max(86400)
  SMS_DELETE_AFTER_SECONDS: number;

  /** Privacy line: verification SMS one number may be sent in an hour (whoever spoofs a number cannot flood that phone). */
  @IsInt()
  @Min(1)
  @Max(100)
  PRIVACY_SMS_PER_NUMBER_PER_HOUR: number;

  /** Privacy line: verification SMS to one country calling code in an hour (SMS pumping goes to many numbers of one country). */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  PRIVACY_SMS_PER_COUNTRY_PER_HOUR: number;

  /** Privacy line: verification SMS in all in an hour. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  PRIVACY_SMS_PER_HOUR: number;

  @IsIn(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
  LOG_LEVEL: string;

  /** Every log line from debug up is also appended here (the test suite sets it and scans the file). */
  @IsOptional()
  @IsString()
  LOG_CAPTURE_FILE?: string;

  @IsOptional()
  @IsIn(['0', '1', 'true', 'false'])
  HOTLINE_DEMO?: string;

  /**
   * Whose X-Forwarded-For is believed: comma-separated addresses or CIDRs, or `loopback`,
   * `linklocal`, `uniquelocal`; `none` believes nobody. The gateway: your reverse proxy's address;
   * records: the gateway's. Default `loopback` (everything on one host).
   */
  @Matches(/^(none|[0-9A-Fa-f.:/]+|loopback|linklocal|uniquelocal)(\s*,\s*([0-9A-Fa-f.:/]+|loopback|linklocal|uniquelocal))*$/, {
    message: 'TRUSTED_PROXIES must be `none` or a comma-separated list of addresses, CIDRs, loopback, linklocal or uniquelocal',
  })
  TRUSTED_PROXIES: string;

  /**
   * Who may read `/metrics` and `/health` details: comma-separated addresses or CIDRs, matched against
   * the client address (`req.ip`, so through TRUSTED_PROXIES). Default loopback and the private ranges.
   */
  @ValidateBy({
    name: 'networkList',
    validator: {
      validate: (v: unknown) => networkListProblem(v) === null,
      defaultMessage: (a) => `INTERNAL_NETWORKS must be comma-separated addresses or CIDRs: ${networkListProblem(a?.value)}`,
    },
  })
  INTERNAL_NETWORKS: string;

  /** How long a request waits for a free database connection before it is answered 503 (never hangs). */
  @IsInt()
  @Min(100)
  @Max(60000)
  DB_POOL_ACQUIRE_TIMEOUT_MS: number;

  /** Where signed audit checkpoints are written and read: outside MySQL, ideally write-once storage. */
  @IsString()
  AUDIT_CHECKPOINT_DIR: string;

  /** PEM Ed25519 private key that signs audit checkpoints (the worker only; the database never sees it). */
  @IsOptional()
  @IsString()
  @Matches(/BEGIN PRIVATE KEY/, { message: 'AUDIT_CHECKPOINT_KEY must be a PEM private key (Ed25519)' })
  AUDIT_CHECKPOINT_KEY?: string;

  /** PEM public key(s) that verify audit checkpoints (records and the CLI); several during rotation. */
  @IsOptional()
  @IsString()
  @Matches(/BEGIN PUBLIC KEY/, { message: 'AUDIT_CHECKPOINT_PUBLIC_KEY must be PEM public key(s)' })
  AUDIT_CHECKPOINT_PUBLIC_KEY?: string;

  /** How often the worker checkpoints the audit chain's new entries. */
  @IsInt()
  @Min(5)
  @Max(86400)
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: number;

  /**
   * Roles that must use a second factor at sign-in (comma-separated; empty: none). Default
   * supervisor, records_officer, auditor, admin; add `operator` to require it of operators too.
   */
  @Matches(/^\s*((operator|supervisor|records_officer|auditor|admin)(\s*,\s*(operator|supervisor|records_officer|auditor|admin))*)?\s*$/, {
    message: 'SECOND_FACTOR_ROLES must be a comma-separated list of roles (operator, supervisor, records_officer, auditor, admin) or empty',
  })
  SECOND_FACTOR_ROLES: string;

  /** Passkeys: the relying party id (a host name, never an IP address); default PUBLIC_URL's host. */
  @IsOptional()
  @Matches(/^[a-z0-9.-]+$/i, { message: 'WEBAUTHN_RP_ID must be a host name (e.g. hotline.example.org)' })
  WEBAUTHN_RP_ID?: string;

  /** Passkeys: the console origins a passkey may be used from (comma-separated); default PUBLIC_URL's origin. */
  @IsOptional()
  @IsString()
  WEBAUTHN_ORIGINS?: string;

  /** The confidentiality agreement: one Markdown file per version (`<version>.md`); the highest version is current. */
  @IsString()
  AGREEMENTS_DIR: string;

  /** The server ends a session that made no request (HTTP or console event) for this long. */
  @IsInt()
  @Min(60)
  @Max(86400)
  SESSION_IDLE_SECONDS: number;

  /** The console locks after this long without input, for an operator off a call (never during a live call). */
  @IsInt()
  @Min(30)
  @Max(86400)
  CONSOLE_IDLE_LOCK_SECONDS: number;
}

export type Env = EnvironmentVariables;

export type Secret =
  | 'TOKEN_PRIVATE_KEY'
  | 'TOKEN_PUBLIC_KEY'
  | 'MASTER_KEY'
  | 'PSEUDONYM_KEY'
  | 'TWILIO_ACCOUNT_SID'
  | 'TWILIO_AUTH_TOKEN'
  | 'TWILIO_AUTH_TOKEN_SECONDARY';

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Configuration is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigurationError';
  }
}
