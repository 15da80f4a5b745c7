-- The operator sets themselves available or away; refused while on a call or in wrap-up. Going
-- away while offered a call revokes the offer. Returns {'ok' | 'busy', status, revoked callId?}.
--
-- KEYS: op available offers waiting
-- ARGV: opId status now
--
-- Keys found at run time: the call offered to the operator (call:<id>), read from the operator's hash.
local op, want, now = ARGV[1], ARGV[2], num(ARGV[3])
local o = redis.call('HMGET', K.op, 'status', 'call', 'conns', 'since')
local cur = o[1] or 'away'
if want == 'available' then
  if cur == 'available' then
    if num(o[3]) > 0 then redis.call('ZADD', K.available, 'NX', o[4], op) end
    return {'ok', 'available'}
  end
  if cur == 'away' then
    makeAvailable(op, K.op, now)
    changed()
    return {'ok', 'available'}
  end
  return {'busy', cur}
end
if cur == 'away' then return {'ok', 'away'} end
if cur == 'available' then
  opSet(K.op, 'away', now, '', '')
  redis.call('ZREM', K.available, op)
  changed()
  return {'ok', 'away'}
end
if cur == 'offered' and redis.call('HGET', ck(o[2]), 'state') == 'offered' then
  requeue(o[2], ck(o[2]))
  opSet(K.op, 'away', now, '', '')
  changed()
  return {'ok', 'away', o[2]}
end
return {'busy', cur}
