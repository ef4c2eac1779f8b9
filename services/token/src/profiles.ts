import type { TokenConfig } from './config.js';

/** A role the token service can assume, and how. */
export interface RoleProfile {
  name: string;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  /** Optional session policy (JSON) that narrows the role's permissions. */
  policy?: string;
}

/** `ingest` for our workers, `client` for web and mobile apps. */
export function profilesFromConfig(c: TokenConfig): Map<string, RoleProfile> {
  const list: RoleProfile[] = [
    { name: 'ingest', roleArn: c.ALIBABA_CLOUD_ROLE_ARN, sessionName: c.INGEST_SESSION_NAME, durationSeconds: c.INGEST_DURATION_SECONDS, policy: c.INGEST_SESSION_POLICY },
    { name: 'client', roleArn: c.CLIENT_ROLE_ARN, sessionName: c.CLIENT_SESSION_NAME, durationSeconds: c.CLIENT_DURATION_SECONDS, policy: c.CLIENT_SESSION_POLICY },
  ];
  return new Map(list.map((p) => [p.name, p]));
}
