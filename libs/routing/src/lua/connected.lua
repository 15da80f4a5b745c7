-- Twilio took the connect: the operator is on the call, counted as answered (and within the
-- service level or not) on the day's counters.
--
-- KEYS: call offers live op stats
-- ARGV: callId opId now slMs day
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'state', 'op', 'enqueuedAt')
if h[1] ~= 'connecting' or h[2] ~= op then return {h[1] or 'gone'} end
local inSl = now - num(h[3]) <= num(ARGV[4])
redis.call('HSET', K.call, 'state', 'connected', 'answeredAt', now, 'answeredDay', ARGV[5], 'inSl', inSl and '1' or '0')
redis.call('ZREM', K.offers, id)
redis.call('ZREM', K.live, id)
opSet(K.op, 'on_call', now, id)
bump(K.stats, 'answered')
if inSl then bump(K.stats, 'answeredInSl') end
changed()
return {'ok', h[3]}
