import path from 'node:path';
import { z } from 'zod';
import { env } from '@vod-ingest/shared';

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
    LOG_LEVEL: env.logLevel(),
  })
  .transform((c) => ({ ...c, port: c.PORT ?? c.EMULATOR_PORT }));

export type EmulatorConfig = z.infer<typeof emulatorConfigSchema>;
