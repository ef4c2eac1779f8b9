/**
 * STS session policies: the `Policy` of AssumeRole, parsed once, carried in the security token,
 * and evaluated on every OSS and VOD request made with that token.
 *
 * The emulator's roles have full access, so a session policy is the whole effective permission:
 * an explicit Deny wins, else some Allow must match both action and resource, else the request is
 * denied by default — RAM's evaluation order.
 */

/** The longest Policy AssumeRole accepts, in characters. */
export const MAX_POLICY_LENGTH = 2048;

/** One statement, normalized: single strings become one-element lists. */
export interface PolicyStatement {
  effect: 'Allow' | 'Deny';
  /** Patterns for RAM action names (`oss:PutObject`, `vod:*`); matched case-insensitively. */
  action: string[];
  /** True for `NotAction`: the statement applies to actions matching none of `action`. */
  notAction?: true;
  /** Patterns for resource names (`acs:oss:*:*:media/acme/*`); matched case-sensitively. */
  resource: string[];
  /** True for `NotResource`. */
  notResource?: true;
  /**
   * The statement has a `Condition`, which the emulator does not evaluate. It fails closed: such
   * an Allow never applies and such a Deny always does, so the emulator never grants more than
   * the cloud would.
   */
  conditional?: true;
}

/** A parsed session policy, small enough to ride in the security token. */
export interface SessionPolicy {
  statements: PolicyStatement[];
}

/** What a request is, in RAM's terms. */
export interface PolicyRequest {
  /** RAM action name, for example `oss:PutObject` (not the API name). */
  action: string;
  /** Resource name, for example `acs:oss:cn-shanghai:1234567890123456:media/acme/x.mp4`. */
  resource: string;
}

export type PolicyDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** The policy text is not a policy; STS answers `InvalidParameter.PolicyGrammar`. */
export class PolicyGrammarError extends Error {
  override readonly name = 'PolicyGrammarError';
}

const STATEMENT_KEYS = new Set(['Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

/**
 * Parses and checks an AssumeRole `Policy`: at most 2048 characters of JSON, `Version` "1", a
 * `Statement` array whose entries have `Effect` Allow|Deny and exactly one of `Action` /
 * `NotAction` and one of `Resource` / `NotResource`, each a non-empty string or a non-empty array
 * of non-empty strings. Throws {@link PolicyGrammarError} saying what is wrong.
 */
export function parseSessionPolicy(text: string): SessionPolicy {
  if (text.length > MAX_POLICY_LENGTH) throw new PolicyGrammarError(`longer than ${MAX_POLICY_LENGTH} characters`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PolicyGrammarError('not JSON');
  }
  if (!isRecord(doc)) throw new PolicyGrammarError('not a JSON object');
  for (const k of Object.keys(doc)) if (k !== 'Version' && k !== 'Statement') throw new PolicyGrammarError(`unknown key ${k}`);
  if (doc.Version !== '1') throw new PolicyGrammarError('Version must be "1"');
  if (!Array.isArray(doc.Statement)) throw new PolicyGrammarError('Statement must be an array');
  return { statements: doc.Statement.map((s, i) => parseStatement(s, i)) };
}

function parseStatement(s: unknown, i: number): PolicyStatement {
  if (!isRecord(s)) throw new PolicyGrammarError(`Statement[${i}] is not an object`);
  for (const k of Object.keys(s)) if (!STATEMENT_KEYS.has(k)) throw new PolicyGrammarError(`Statement[${i}] has unknown key ${k}`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new PolicyGrammarError(`Statement[${i}].Effect must be Allow or Deny`);
  if (s.Condition !== undefined && !isRecord(s.Condition)) throw new PolicyGrammarError(`Statement[${i}].Condition must be an object`);
  const action = oneOf(s, 'Action', 'NotAction', i);
  const resource = oneOf(s, 'Resource', 'NotResource', i);
  return {
    effect: s.Effect,
    action: action.patterns,
    ...(action.negated ? { notAction: true as const } : {}),
    resource: resource.patterns,
    ...(resource.negated ? { notResource: true as const } : {}),
    ...(s.Condition !== undefined ? { conditional: true as const } : {}),
  };
}

function oneOf(s: Record<string, unknown>, name: string, notName: string, i: number): { patterns: string[]; negated: boolean } {
  if ((s[name] === undefined) === (s[notName] === undefined)) {
    throw new PolicyGrammarError(`Statement[${i}] needs exactly one of ${name} and ${notName}`);
  }
  const negated = s[name] === undefined;
  const value = negated ? s[notName] : s[name];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string' && p.length > 0)) {
    throw new PolicyGrammarError(`Statement[${i}].${negated ? notName : name} must be a non-empty string or array of non-empty strings`);
  }
  return { patterns: list as string[], negated };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Decides a request under a session policy: `ExplicitDeny` when a Deny statement matches,
 * otherwise `Allow` when an Allow statement matches, otherwise `ImplicitDeny`.
 */
export function evaluatePolicy(policy: SessionPolicy, request: PolicyRequest): PolicyDecision {
  let allowed = false;
  for (const st of policy.statements) {
    if (!statementMatches(st, request)) continue;
    if (st.effect === 'Deny') return 'ExplicitDeny';
    if (!st.conditional) allowed = true;
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}

function statementMatches(st: PolicyStatement, request: PolicyRequest): boolean {
  const actionHit = st.action.some((p) => matchesPattern(p, request.action, { ignoreCase: true }));
  const resourceHit = st.resource.some((p) => matchesPattern(p, request.resource));
  return actionHit !== Boolean(st.notAction) && resourceHit !== Boolean(st.notResource);
}

/**
 * RAM's wildcard match of a whole string: `*` matches any run of characters (`/` and `:`
 * included, possibly none), `?` exactly one; everything else is literal. Case-sensitive unless
 * `ignoreCase` (RAM compares action names without case, resource names with it). Linear
 * backtracking over code points, so no pattern can make it blow up the way a regex could.
 */
export function matchesPattern(pattern: string, value: string, opts: { ignoreCase?: boolean } = {}): boolean {
  const p = [...(opts.ignoreCase ? pattern.toLowerCase() : pattern)];
  const s = [...(opts.ignoreCase ? value.toLowerCase() : value)];
  let pi = 0;
  let si = 0;
  let star = -1; // index in p of the last `*` seen
  let resume = 0; // where in s that `*` would take its next character from
  while (si < s.length) {
    if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = si;
    } else if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++resume;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** The account in resource names when a role ARN names none. */
export const DEFAULT_ACCOUNT_ID = '1234567890123456';

/**
 * The account id of a role ARN (`acs:ram::<uid>:role/<name>`): the account field of the resource
 * names a token's requests are matched as. Defaults to {@link DEFAULT_ACCOUNT_ID}.
 */
export function accountOfRoleArn(roleArn: string | undefined): string {
  return (roleArn && /^acs:ram::(\d+):role\//i.exec(roleArn)?.[1]) || DEFAULT_ACCOUNT_ID;
}
