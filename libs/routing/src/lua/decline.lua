-- The operator declines: the call goes back to the front, the decliner to the back of the idle
-- line, passed over for this call until now + skipMs.
--
-- KEYS: call op offers waiting available
-- ARGV: callId opId now skipMs
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'state', 'op')
if h[1] ~= 'offered' or h[2] ~= op then return 'not_offered' end
requeue(id, K.call)
redis.call('HSET', K.call, 'declinedBy', op, 'declinedUntil', now + num(ARGV[4]))
makeAvailable(op, K.op, now)
changed()
return 'ok'
