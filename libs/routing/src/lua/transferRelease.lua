-- A warm transfer that did not happen (the target declined, did not answer, or the transferring
-- operator cancelled it): the target is available again and the call stays where it was.
--
-- KEYS: call available
-- ARGV: callId targetId now
--
-- Keys found at run time: the target operator's hash (op:<targetId>).
local id, target, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'op', 'xferTo')
if h[2] ~= target then return 'ignored' end
redis.call('HSET', K.call, 'xferTo', '')
local o = redis.call('HMGET', okey(target), 'status', 'call')
if o[1] == 'on_call' and o[2] == id and h[1] ~= target then makeAvailable(target, okey(target), now) end
changed()
return 'ok'
