// The JobStore's Lua scripts: each writes a status change and its event in one step, so an event
// exists exactly when its transition happened. Each reads the record once (one HMGET or HGETALL)
// and writes it once (one HSET): the event counter `seq` is read and written with the rest, and
// the caller passes what it already knows (the id) instead of the script reading it back.

import { LuaScript } from '../redis-script.js';

/**
 * Lua shared by the scripts. `envelope` builds an event; `publish` appends it to the global stream.
 * A record is a job or a direct upload (`upl_…` ids): the stream field `jobId` carries either id.
 * The record keeps its own events as fields `e:<seq>` (written by the same HSET as the change), so
 * a subject's history needs no stream of its own and goes when the record goes. The global entry
 * carries the record's `cb` (`1` with a callbackUrl, `0` without), so the webhook dispatcher reads
 * no record for jobs without one; a record written before `cb` existed has none, and is read.
 */
const EMIT_LUA = `
local function envelope(id, tenant, seq, etype, createdAt, dataJson)
  local subject = 'jobId'
  if string.sub(id, 1, 4) == 'upl_' then subject = 'uploadId' end
  return '{"id":' .. cjson.encode('evt_' .. id .. '_' .. seq) .. ',"type":' .. cjson.encode(etype) ..
    ',"createdAt":' .. cjson.encode(createdAt) .. ',"' .. subject .. '":' .. cjson.encode(id) ..
    ',"tenant":' .. cjson.encode(tenant) .. ',"data":' .. dataJson .. '}'
end
local function publish(streamKey, id, seq, etype, event, maxlen, cb)
  if cb then
    redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'jobId', id, 'seq', seq, 'type', etype, 'event', event, 'cb', cb)
  else
    redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'jobId', id, 'seq', seq, 'type', etype, 'event', event)
  end
end
`;

/** The fields of a job record (besides its events): what `get` reads. */
export const RECORD_FIELDS = [
  'id',
  'tenant',
  'status',
  'request',
  'progress',
  'attempts',
  'createdAt',
  'startedAt',
  'finishedAt',
  'cancel',
  'result',
  'error',
  'video',
  'sealedHeaders',
  'vod',
  'seq',
  'cb',
] as const;

/**
 * KEYS: record, events, then any guard keys: while one of them exists the record counts as taken
 * and the transition does not apply. ARGV: id, allowed statuses (csv), new status or '', event
 * type or '', createdAt, data JSON, maxlen, ttl, final ('1' ends the record: it expires after
 * ttl), then a first event's type (or ''), createdAt and data JSON: written before the event when
 * the record is `queued` (a start written with the end), then field/value pairs to set.
 * Returns {1, event or ''} when the record was in an allowed status and no guard key exists,
 * {0, status} otherwise.
 */
export const TRANSITION = new LuaScript(
  `${EMIT_LUA}
local v = redis.call('HMGET', KEYS[1], 'status', 'seq', 'tenant', 'cb')
local status, seq, tenant, cb = v[1], v[2], v[3], v[4]
if not status then return {0, ''} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == status then allowed = true end end
if not allowed then return {0, status} end
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, status} end
end
local n = tonumber(seq or '0')
local fields = {}
for i = 13, #ARGV do fields[#fields + 1] = ARGV[i] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'status'; fields[#fields + 1] = ARGV[3] end
local first, firstSeq = '', n
local firstType = ARGV[10]
if firstType ~= '' and status == 'queued' then
  n = n + 1
  firstSeq = n
  first = envelope(ARGV[1], tenant, n, firstType, ARGV[11], ARGV[12])
  fields[#fields + 1] = 'e:' .. n; fields[#fields + 1] = first
end
local event = ''
if ARGV[4] ~= '' then
  n = n + 1
  event = envelope(ARGV[1], tenant, n, ARGV[4], ARGV[5], ARGV[6])
  fields[#fields + 1] = 'e:' .. n; fields[#fields + 1] = event
end
if first ~= '' or event ~= '' then fields[#fields + 1] = 'seq'; fields[#fields + 1] = tostring(n) end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
if ARGV[9] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[8]) end
if first ~= '' then publish(KEYS[2], ARGV[1], firstSeq, firstType, first, ARGV[7], cb) end
if event ~= '' then publish(KEYS[2], ARGV[1], n, ARGV[4], event, ARGV[7], cb) end
return {1, event}
`,
  -1,
);

/**
 * KEYS: job, tenantJobs, idempotency (or the job key again), events. ARGV: idempotency value or
 * '', its ttl, job id, tenant, createdAt, data JSON, maxlen, cb ('1' when the job has a
 * callbackUrl, else '0'), the oldest id the tenant index keeps or '' (then the index is not trimmed), then
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
local event = envelope(ARGV[3], ARGV[4], 1, 'job.queued', ARGV[5], ARGV[6])
redis.call('HSET', KEYS[1], 'e:1', event, unpack(ARGV, 10))
redis.call('ZADD', KEYS[2], 0, ARGV[3])
if ARGV[9] ~= '' then redis.call('ZREMRANGEBYLEX', KEYS[2], '-', '(' .. ARGV[9]) end
publish(KEYS[4], ARGV[3], 1, 'job.queued', event, ARGV[7], ARGV[8])
return {1, event}
`,
  4,
);

/**
 * A vod job's video finished processing, once. KEYS: job, events. ARGV: the status the job must
 * be in, createdAt, data JSON, maxlen, video JSON, event type, job id. Returns {1, event} when
 * written, {2, ''} when an earlier callback already ended the video, {0, status} when the job is
 * not (yet) in that status.
 */
export const VIDEO = new LuaScript(
  `${EMIT_LUA}
local v = redis.call('HMGET', KEYS[1], 'status', 'seq', 'tenant', 'cb', 'videoDone')
if v[1] ~= ARGV[1] then return {0, v[1] or ''} end
if v[5] == '1' then return {2, ''} end
local n = tonumber(v[2] or '0') + 1
local event = envelope(ARGV[7], v[3], n, ARGV[6], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[1], 'video', ARGV[5], 'videoDone', '1', 'seq', tostring(n), 'e:' .. n, event)
publish(KEYS[2], ARGV[7], n, ARGV[6], event, ARGV[4], v[4])
return {1, event}
`,
  2,
);
