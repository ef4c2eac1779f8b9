import * as StsModule from '@alicloud/sts20150401';
import * as Core from '@alicloud/openapi-core';
import { mapPopError, popEndpoint, type Credential } from '@vod-ingest/shared';
import type { RoleProfile } from './profiles.js';

/** The one STS call we make. Tests may fake it; production uses `AlibabaSts`. */
export interface StsApi {
  assumeRole(profile: RoleProfile): Promise<Credential>;
}

type StsClient = {
  assumeRole(req: unknown): Promise<{ body: { credentials: { accessKeyId: string; accessKeySecret: string; securityToken: string; expiration: string } } }>;
};
const StsClientClass = (StsModule as unknown as { default: { default: new (c: unknown) => StsClient } }).default.default;
const { AssumeRoleRequest } = StsModule as unknown as { AssumeRoleRequest: new (r: object) => unknown };
const { $OpenApiUtil } = Core as unknown as { $OpenApiUtil: { Config: new (c: object) => unknown } };

/** `StsApi` over `@alicloud/sts20150401`, signed with the long-term RAM key. Errors mapped once here. */
export class AlibabaSts implements StsApi {
  private readonly client: StsClient;

  constructor(private readonly opts: { accessKeyId: string; accessKeySecret: string; region: string; endpoint: string }) {
    const { endpoint, protocol } = popEndpoint(opts.endpoint);
    this.client = new StsClientClass(
      new $OpenApiUtil.Config({
        accessKeyId: opts.accessKeyId,
        accessKeySecret: opts.accessKeySecret,
        regionId: opts.region,
        endpoint,
        protocol,
        readTimeout: 10_000,
        connectTimeout: 5000,
      }),
    );
  }

  async assumeRole(profile: RoleProfile): Promise<Credential> {
    try {
      const res = await this.client.assumeRole(
        new AssumeRoleRequest({
          roleArn: profile.roleArn,
          roleSessionName: profile.sessionName,
          durationSeconds: profile.durationSeconds,
          policy: profile.policy,
        }),
      );
      const c = res.body.credentials;
      return {
        accessKeyId: c.accessKeyId,
        accessKeySecret: c.accessKeySecret,
        securityToken: c.securityToken,
        expiration: c.expiration,
        region: this.opts.region,
      };
    } catch (err) {
      throw mapPopError(err);
    }
  }
}
