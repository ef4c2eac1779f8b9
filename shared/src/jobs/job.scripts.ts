// The JobStore's Lua scripts: each writes a status change and its event in one step, so an event
// exists exactly when its transition happened.

/**
 * Lua shared by the scripts: bump the record's event counter, append the envelope to both streams.
 * A record is a job or a direct upload (`upl_…` ids): the stream field `jobId` carries either id.
 */
const EMIT_LUA = `
local function emit(jobKey, streamKey, jobStreamKey, etype, createdAt, dataJson, maxlen, ttl)
  local seq = redis.call('HINCRBY', jobKey, 'seq', 1)
  local jobId = redis.call('HGET', jobKey, 'id')
  local tenant = redis.call('HGET', jobKey, 'tenant')
  local subject = 'jobId'
  if string.sub(jobId, 1, 4) == 'upl_' then subject = 'uploadId' end
  local event = '{"id":' .. cjson.encode('evt_' .. jobId .. '_' .. seq) .. ',"type":' .. cjson.encode(etype) ..
    ',"createdAt":' .. cjson.encode(createdAt) .. ',"' .. subject .. '":' .. cjson.encode(jobId) ..
    ',"tenant":' .. cjson.encode(tenant) .. ',"data":' .. dataJson .. '}'
  redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'jobId', jobId, 'seq', seq, 'type', etype, 'event', event)
  redis.call('XADD', jobStreamKey, '0-' .. seq, 'event', event)
  redis.call('EXPIRE', jobStreamKey, ttl)
  return event
end
`;

/**
 * KEYS: job, events, jobEvents. ARGV: allowed statuses (csv), new status or '', event type or '',
 * createdAt, data JSON, maxlen, ttl, expire-job ('1'/''), then field/value pairs to set.
 * Returns {1, event or ''} when the job was in an allowed status, {0, status} otherwise.
 */
export const TRANSITION_LUA = `${EMIT_LUA}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0, ''} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == status then allowed = true end end
if not allowed then return {0, status} end
if #ARGV > 8 then redis.call('HSET', KEYS[1], unpack(ARGV, 9)) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[2]) end
if ARGV[8] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[7]) end
if ARGV[3] == '' then return {1, ''} end
return {1, emit(KEYS[1], KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])}
`;

/**
 * KEYS: job, tenantJobs, idempotency (or ''), events, jobEvents. ARGV: idempotency value or '',
 * its ttl, job id, createdAt, data JSON, maxlen, ttl, then the record's field/value pairs.
 * Returns {1, event} when created, {0, existing idempotency value} when the key was taken.
 */
export const CREATE_LUA = `${EMIT_LUA}
if ARGV[1] ~= '' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return {0, existing} end
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return {1, emit(KEYS[1], KEYS[4], KEYS[5], 'job.queued', ARGV[4], ARGV[5], ARGV[6], ARGV[7])}
`;

/**
 * A vod job's video finished processing, once. KEYS: job, events, jobEvents. ARGV: the status the
 * job must be in, createdAt, data JSON, maxlen, ttl, video JSON, event type. Returns {1, event}
 * when written, {2, ''} when an earlier callback already ended the video, {0, status} when the
 * job is not (yet) in that status.
 */
export const VIDEO_LUA = `${EMIT_LUA}
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[1] then return {0, status or ''} end
if redis.call('HGET', KEYS[1], 'videoDone') == '1' then return {2, ''} end
redis.call('HSET', KEYS[1], 'video', ARGV[6], 'videoDone', '1')
return {1, emit(KEYS[1], KEYS[2], KEYS[3], ARGV[7], ARGV[2], ARGV[3], ARGV[4], ARGV[5])}
`;
