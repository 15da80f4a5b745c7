-- A warm transfer to another operator (or a supervisor on the operator console): the target, if
-- available and connected, is taken off the idle line and put on this call while their leg rings.
-- The call stays the transferring operator's until the handover (transferHandover).
--
-- KEYS: call available
-- ARGV: callId opId targetId now
--
-- Keys found at run time: the target operator's hash (op:<targetId>).
local id, op, target, now = ARGV[1], ARGV[2], ARGV[3], num(ARGV[4])
local h = redis.call('HMGET', K.call, 'state', 'op', 'xferTo')
if h[1] ~= 'connected' or h[2] ~= op then return 'not_your_call' end
if h[3] and h[3] ~= '' then return 'transfer_in_progress' end
if target == op then return 'target_unavailable' end
local t = redis.call('HMGET', okey(target), 'status', 'conns')
if t[1] ~= 'available' or num(t[2]) <= 0 then return 'target_unavailable' end
redis.call('ZREM', K.available, target)
opSet(okey(target), 'on_call', now, id)
redis.call('HSET', K.call, 'xferTo', target)
changed()
return 'ok'
