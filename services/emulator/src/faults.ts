import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { CloudError } from './errors.js';

/**
 * A fault rule: for requests of `action` (or `*`), with probability `rate`, at most `times`
 * times: wait `latencyMs`, then either drop the connection or answer `status`/`code` in the
 * API's own error format. A rule with only latency slows requests down and lets them through.
 * Action `Transcode` names VOD's simulated processing instead of a request: `code`/`message`
 * (or `drop`) make the transcode fail with them, `latencyMs` makes it take longer.
 */
export const faultRuleSchema = z
  .object({
    action: z.string().min(1),
    rate: z.number().min(0).max(1).default(1),
    times: z.number().int().positive().optional(),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    drop: z.boolean().optional(),
    status: z.number().int().min(400).max(599).optional(),
    code: z.string().optional(),
    message: z.string().optional(),
    /** Seconds sent as `x-acs-retry-after` / `Retry-After` with a throttling answer. */
    retryAfterSeconds: z.number().int().min(0).optional(),
  })
  .refine((r) => r.latencyMs !== undefined || r.drop || r.status !== undefined || r.code !== undefined, {
    message: 'a rule needs latencyMs, drop, status or code',
  });

export type FaultRule = z.infer<typeof faultRuleSchema>;

/** What to do to one request. */
export interface FaultDecision {
  latencyMs: number;
  drop: boolean;
  error?: { status: number; code: string; message: string; retryAfterSeconds?: number };
}

interface ActiveRule {
  id: number;
  rule: FaultRule;
  applied: number;
}

/**
 * Counts the request and applies its faults: waits the injected latency, then drops the
 * connection (returns true: nothing more to send) or throws the injected error, whose
 * retry-after header each API spells its own way (`retryAfterHeader`).
 */
export async function applyFaults(
  faults: FaultInjector,
  action: string,
  req: IncomingMessage,
  retryAfterHeader: (seconds: number) => Record<string, string>,
): Promise<boolean> {
  const fault = faults.decide(action);
  if (fault.latencyMs) await sleep(fault.latencyMs);
  if (fault.drop) {
    req.socket.destroy();
    return true;
  }
  if (fault.error) {
    const { status, code, message, retryAfterSeconds } = fault.error;
    throw new CloudError(status, code, message, {}, retryAfterSeconds === undefined ? {} : retryAfterHeader(retryAfterSeconds));
  }
  return false;
}

/** Fault rules plus request counters per action (the inspection side of the admin API). */
export class FaultInjector {
  private rules: ActiveRule[] = [];
  private nextId = 1;
  private readonly requests = new Map<string, number>();
  private readonly injected = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  add(rule: FaultRule): number {
    const id = this.nextId++;
    this.rules.push({ id, rule, applied: 0 });
    return id;
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<FaultRule & { id: number; applied: number }> {
    return this.rules.map((r) => ({ ...r.rule, id: r.id, applied: r.applied }));
  }

  /**
   * Counts the request and decides its faults (latencies add up; the first error or drop wins).
   * `internal`: a step of the emulator's own (a transcode), not a client's request — not
   * counted as a request, and only rules that name it apply, since `*` means every request.
   */
  decide(action: string, opts: { internal?: boolean } = {}): FaultDecision {
    if (!opts.internal) this.requests.set(action, (this.requests.get(action) ?? 0) + 1);
    const decision: FaultDecision = { latencyMs: 0, drop: false };
    for (const active of this.rules) {
      const { rule } = active;
      if (rule.action !== action && (rule.action !== '*' || opts.internal)) continue;
      if (rule.times !== undefined && active.applied >= rule.times) continue;
      if (this.random() >= rule.rate) continue;
      active.applied++;
      decision.latencyMs += rule.latencyMs ?? 0;
      if (decision.drop || decision.error) continue;
      if (rule.drop) decision.drop = true;
      else if (rule.status !== undefined || rule.code !== undefined) {
        const status = rule.status ?? 500;
        decision.error = {
          status,
          code: rule.code ?? (status === 503 ? 'ServiceUnavailable' : 'InternalError'),
          message: rule.message ?? 'Injected fault.',
          retryAfterSeconds: rule.retryAfterSeconds,
        };
      }
    }
    if (decision.drop || decision.error) this.injected.set(action, (this.injected.get(action) ?? 0) + 1);
    return decision;
  }

  stats(): { requests: Record<string, number>; faults: Record<string, number> } {
    return { requests: Object.fromEntries(this.requests), faults: Object.fromEntries(this.injected) };
  }

  resetStats(): void {
    this.requests.clear();
    this.injected.clear();
  }
}
