-- A cold transfer: the operator hands the connected call back to routing and goes to wrap-up. With
-- a named target who is available (and connected), the call is offered to them at once, as any
-- offer (accept, decline, timeout); otherwise it waits at the front of the queue.
--
-- KEYS: call op waiting live offers available
-- ARGV: callId opId targetId now offerMs
--
-- Keys found at run time: the target operator's hash (op:<targetId>).
local id, op, target, now = ARGV[1], ARGV[2], ARGV[3], num(ARGV[4])
local h = redis.call('HMGET', K.call, 'state', 'op', 'enqueuedAt')
if h[1] ~= 'connected' or h[2] ~= op then return {'not_your_call'} end
local o = redis.call('HMGET', K.op, 'status', 'call')
if o[1] == 'on_call' and o[2] == id then opSet(K.op, 'wrap_up', now, id) end
redis.call('HSET', K.call, 'transferredBy', op)
redis.call('ZADD', K.live, h[3], id)
if target ~= '' and target ~= op then
  local t = redis.call('HMGET', okey(target), 'status', 'conns')
  if t[1] == 'available' and num(t[2]) > 0 then
    local exp = now + num(ARGV[5])
    redis.call('ZREM', K.available, target)
    redis.call('HSET', K.call, 'state', 'offered', 'op', target, 'expiresAt', exp)
    opSet(okey(target), 'offered', now, id)
    redis.call('ZADD', K.offers, exp, id)
    changed()
    return {'offered', tostring(exp), h[3]}
  end
end
-- The front of the queue: ahead of whoever waits longest now.
local first = redis.call('ZRANGE', K.waiting, 0, 0, 'WITHSCORES')
local score = num(h[3])
if first[2] and num(first[2]) <= score then score = num(first[2]) - 1 end
redis.call('HSET', K.call, 'state', 'waiting', 'op', '', 'expiresAt', '', 'enqueuedAt', score)
redis.call('ZADD', K.waiting, score, id)
redis.call('ZADD', K.live, score, id)
changed()
return {'queued', '', tostring(score)}
