import path from 'node:path';
import { z } from 'zod';
import { env } from '@vod-ingest/shared';

function isHttpUrl(s: string): boolean {
  return /^https?:$/.test(new URL(s).protocol);
}

/** `*`, or an origin exactly as browsers send it: `scheme://host[:port]`, no path. */
const corsOrigin = z.string().refine((o) => {
  if (o === '*') return true;
  try {
    return new URL(o).origin === o;
  } catch {
    return false;
  }
}, 'each origin must be * or scheme://host[:port]');

/** Defaults suit `npm start` and tests; a deployment sets its own key pair. */
export const emulatorConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).optional(),
    EMULATOR_PORT: env.port(9100),
    EMULATOR_HOST: z.string().default('0.0.0.0'),
    /** URL clients use to reach this emulator; goes into VOD UploadAddress. Defaults to http://localhost:<port>. */
    EMULATOR_PUBLIC_URL: z.string().url().optional(),
    EMULATOR_ACCESS_KEY_ID: z.string().min(8).default('LTAI5tEmulatorLocalKey'),
    EMULATOR_ACCESS_KEY_SECRET: z.string().min(16).default('emulator-local-secret-not-for-cloud'),
    EMULATOR_REGION: z.string().default('cn-shanghai'),
    /** Caps STS and UploadAuth lifetimes (seconds); tests set a few seconds. */
    EMULATOR_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).optional(),
    /** The role's MaxSessionDuration: AssumeRole DurationSeconds must be 900..this. */
    EMULATOR_MAX_SESSION_SECONDS: env.int(3600, 900, 43200),
    /** Buckets that exist (the VOD storage bucket always exists too). */
    EMULATOR_BUCKETS: env.list(['vod-ingest-media']),
    EMULATOR_DATA_DIR: z.string().default(path.resolve('.data/emulator')),
    EMULATOR_ADMIN: env.bool(false),
    /** Origins the bucket CORS rule allows (`*`: any, as a permissive rule for local use). */
    EMULATOR_CORS_ORIGINS: env.list(['*']).pipe(z.array(corsOrigin).min(1)),
    /** Where VOD event notifications go; unset: none are sent and no processing is simulated. */
    EMULATOR_VOD_CALLBACK_URL: z.string().url().refine(isHttpUrl, 'must be an http(s) URL').optional(),
    /** The callback's private key: when set, notifications carry X-VOD-TIMESTAMP and X-VOD-SIGNATURE. */
    EMULATOR_VOD_CALLBACK_KEY: z.string().min(1).optional(),
    /** Simulated transcoding time between FileUploadComplete and TranscodeComplete. */
    EMULATOR_VOD_PROCESSING_MS: env.int(2000, 0, 3_600_000),
    /** Pause before each retry of a failed notification (VOD tries three times in all). */
    EMULATOR_VOD_CALLBACK_RETRY_MS: env.int(1000, 0, 600_000),
    /** A notification try without an answer within this long is a failure. */
    EMULATOR_VOD_CALLBACK_TIMEOUT_MS: env.int(5000, 1, 600_000),
    LOG_LEVEL: env.logLevel(),
  })
  .transform((c) => ({ ...c, port: c.PORT ?? c.EMULATOR_PORT }));

export type EmulatorConfig = z.infer<typeof emulatorConfigSchema>;
