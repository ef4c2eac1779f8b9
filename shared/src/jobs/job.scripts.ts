// The JobStore's Lua scripts: each writes a status change and its event in one step, so an event
// exists exactly when its transition happened. Each reads the record once (one HMGET or HGETALL)
// and writes it once (one HSET): the event counter `seq` is read and written with the rest, and
// the caller passes what it already knows (the id) instead of the script reading it back.

import { LuaScript } from '../redis-script.js';

/**
 * Lua shared by the scripts: append the envelope to the global stream and to the subject's own.
 * A record is a job or a direct upload (`upl_…` ids): the stream field `jobId` carries either id.
 * The global entry carries `cb 1` when the record has a callbackUrl, so the webhook dispatcher
 * needs no read of the record for jobs without one.
 */
const EMIT_LUA = `
local function emit(streamKey, subjectStreamKey, id, tenant, seq, etype, createdAt, dataJson, maxlen, cb)
  local subject = 'jobId'
  if string.sub(id, 1, 4) == 'upl_' then subject = 'uploadId' end
  local event = '{"id":' .. cjson.encode('evt_' .. id .. '_' .. seq) .. ',"type":' .. cjson.encode(etype) ..
    ',"createdAt":' .. cjson.encode(createdAt) .. ',"' .. subject .. '":' .. cjson.encode(id) ..
    ',"tenant":' .. cjson.encode(tenant) .. ',"data":' .. dataJson .. '}'
  if cb == '1' then
    redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'jobId', id, 'seq', seq, 'type', etype, 'event', event, 'cb', '1')
  else
    redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'jobId', id, 'seq', seq, 'type', etype, 'event', event)
  end
  redis.call('XADD', subjectStreamKey, '0-' .. seq, 'event', event)
  return event
end
`;

/**
 * KEYS: record, events, subjectEvents. ARGV: id, allowed statuses (csv), new status or '', event
 * type or '', createdAt, data JSON, maxlen, ttl, final ('1' ends the record: it and its stream
 * expire after ttl), want-record ('1' returns the record as it was, flat), then field/value pairs.
 * Returns {1, event or '', record or {}} when the record was in an allowed status, {0, status}
 * otherwise.
 */
export const TRANSITION = new LuaScript(
  `${EMIT_LUA}
local status, seq, tenant, cb
local before = {}
if ARGV[10] == '1' then
  before = redis.call('HGETALL', KEYS[1])
  for i = 1, #before, 2 do
    local k = before[i]
    if k == 'status' then status = before[i + 1]
    elseif k == 'seq' then seq = before[i + 1]
    elseif k == 'tenant' then tenant = before[i + 1]
    elseif k == 'cb' then cb = before[i + 1] end
  end
else
  local v = redis.call('HMGET', KEYS[1], 'status', 'seq', 'tenant', 'cb')
  status, seq, tenant, cb = v[1], v[2], v[3], v[4]
end
if not status then return {0, ''} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == status then allowed = true end end
if not allowed then return {0, status} end
local n = tonumber(seq or '0')
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'status'; fields[#fields + 1] = ARGV[3] end
if ARGV[4] ~= '' then n = n + 1; fields[#fields + 1] = 'seq'; fields[#fields + 1] = tostring(n) end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
if ARGV[9] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[8]) end
if ARGV[4] == '' then return {1, '', before} end
local event = emit(KEYS[2], KEYS[3], ARGV[1], tenant, n, ARGV[4], ARGV[5], ARGV[6], ARGV[7], cb)
if ARGV[9] == '1' then redis.call('EXPIRE', KEYS[3], ARGV[8]) end
return {1, event, before}
`,
  3,
);

/**
 * KEYS: job, tenantJobs, idempotency (or the job key again), events, jobEvents. ARGV: idempotency
 * value or '', its ttl, job id, tenant, createdAt, data JSON, maxlen, cb ('1' when the job has a
 * callbackUrl), the oldest id the tenant index keeps or '' (then the index is not trimmed), then
 * the record's field/value pairs (with `seq` 1: the `job.queued` event).
 * Returns {1, event} when created, {0, existing idempotency value} when the key was taken.
 */
export const CREATE = new LuaScript(
  `${EMIT_LUA}
if ARGV[1] ~= '' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {0, existing} end
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 10))
redis.call('ZADD', KEYS[2], 0, ARGV[3])
if ARGV[9] ~= '' then redis.call('ZREMRANGEBYLEX', KEYS[2], '-', '(' .. ARGV[9]) end
return {1, emit(KEYS[4], KEYS[5], ARGV[3], ARGV[4], 1, 'job.queued', ARGV[5], ARGV[6], ARGV[7], ARGV[8])}
`,
  5,
);

/**
 * A vod job's video finished processing, once. KEYS: job, events, jobEvents. ARGV: the status the
 * job must be in, createdAt, data JSON, maxlen, ttl, video JSON, event type, job id. Returns
 * {1, event} when written, {2, ''} when an earlier callback already ended the video, {0, status}
 * when the job is not (yet) in that status.
 */
export const VIDEO = new LuaScript(
  `${EMIT_LUA}
local v = redis.call('HMGET', KEYS[1], 'status', 'seq', 'tenant', 'cb', 'videoDone')
if v[1] ~= ARGV[1] then return {0, v[1] or ''} end
if v[5] == '1' then return {2, ''} end
local n = tonumber(v[2] or '0') + 1
redis.call('HSET', KEYS[1], 'video', ARGV[6], 'videoDone', '1', 'seq', tostring(n))
local event = emit(KEYS[2], KEYS[3], ARGV[8], v[3], n, ARGV[7], ARGV[2], ARGV[3], ARGV[4], v[4])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {1, event}
`,
  3,
);
