-- A Twilio status callback. Idempotent on CallSid + SequenceNumber (seq -1: none); late ones are
-- ignored. A terminal one (terminal = 1) ends the call: abandoned if the caller was still waiting
-- for an operator, completed if connected (the operator goes to wrap-up, or away if gone).
--
-- KEYS: seq sid waiting live offers available grace stats
-- ARGV: callSid seq terminal now day
--
-- Keys found at run time: the call (call:<id>), whose id is read from sid:<callSid> here, and the
-- operator it was offered or connected to (op:<id>), read from the call.
local sid, seq, now = ARGV[1], num(ARGV[2]), num(ARGV[4])
if seq >= 0 then
  local last = tonumber(redis.call('GET', K.seq) or '-1')
  if seq <= last then return {'duplicate'} end
  redis.call('SET', K.seq, seq, 'EX', 86400)
end
if ARGV[3] ~= '1' then return {'noted'} end
local id = redis.call('GET', K.sid)
if not id then return {'unknown'} end
local h = redis.call('HMGET', ck(id), 'state', 'op')
if h[1] == 'waiting' then
  finish(id, ck(id))
  bump(K.stats, 'abandoned')
  changed()
  return {'abandoned', id, ''}
end
if h[1] == 'offered' or h[1] == 'connecting' then
  finish(id, ck(id))
  bump(K.stats, 'abandoned')
  if redis.call('HGET', okey(h[2]), 'call') == id then makeAvailable(h[2], okey(h[2]), now) end
  changed()
  return {'abandoned', id, h[2]}
end
if h[1] == 'connected' then
  finish(id, ck(id))
  local o = redis.call('HMGET', okey(h[2]), 'status', 'call', 'conns')
  if o[1] == 'on_call' and o[2] == id then
    if num(o[3]) > 0 or redis.call('ZSCORE', K.grace, h[2]) then
      opSet(okey(h[2]), 'wrap_up', now, id)
    else
      opSet(okey(h[2]), 'away', now, '', 'disconnected')
    end
  end
  changed()
  return {'completed', id, h[2]}
end
return {'duplicate', id}
