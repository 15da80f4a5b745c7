-- A call joins the queue. Idempotent: a known call keeps its state. A new call is matched at once,
-- in the same script: the offer needs no second round trip.
-- Returns 'queued' and the offers made (callId, opId, expiry, enqueuedAt each), or the known call's state.
--
-- KEYS: call sid waiting live available offers
-- ARGV: callId callSid pseudonym consent enqueuedAt now offerMs
--
-- Keys found at run time: matching reads and offers the waiting calls (call:<id>) to the available
-- operators (op:<id>); which ones is known only once the script has read the queue.
local id, sid = ARGV[1], ARGV[2]
local st = redis.call('HGET', K.call, 'state')
if st then return {st} end
redis.call('HSET', K.call, 'callSid', sid, 'pseudonym', ARGV[3], 'consent', ARGV[4], 'enqueuedAt', ARGV[5], 'state', 'waiting')
redis.call('EXPIRE', K.call, 86400)
redis.call('SET', K.sid, id, 'EX', 86400)
redis.call('ZADD', K.waiting, ARGV[5], id)
redis.call('ZADD', K.live, ARGV[5], id)
local out = matchCalls(num(ARGV[6]), num(ARGV[7]), 50)
changed()
table.insert(out, 1, 'queued')
return out
