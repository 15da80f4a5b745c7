-- The transferring operator completes a warm transfer: the call becomes the target's, and the
-- transferring operator goes to wrap-up (they keep read access to the record, not the caller).
-- External (a directory entry, external = 1): the operator leaves the caller with the entry; the
-- call stays on their name until it ends.
--
-- KEYS: call op available
-- ARGV: callId opId now external
--
-- Keys found at run time: the target operator's hash (op:<xferTo>).
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'state', 'op', 'xferTo')
if h[1] ~= 'connected' or h[2] ~= op then return {'not_your_call'} end
-- Off the idle line in any case: an operator in wrap-up is offered nothing.
redis.call('ZREM', K.available, op)
if ARGV[4] == '1' then
  local o = redis.call('HMGET', K.op, 'status', 'call')
  if o[1] == 'on_call' and o[2] == id then opSet(K.op, 'wrap_up', now, id) end
  redis.call('HSET', K.call, 'transferredBy', op)
  changed()
  return {'ok', ''}
end
if not h[3] or h[3] == '' then return {'no_transfer'} end
if redis.call('HGET', okey(h[3]), 'call') ~= id then return {'target_gone'} end
redis.call('HSET', K.call, 'op', h[3], 'xferTo', '', 'transferredBy', op)
local o = redis.call('HMGET', K.op, 'status', 'call')
if o[1] == 'on_call' and o[2] == id then opSet(K.op, 'wrap_up', now, id) end
changed()
return {'ok', h[3]}
