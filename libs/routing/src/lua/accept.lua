-- An operator accepts an offer. Only the operator holding the offer wins, and only once.
-- Returns {'ok', callSid, consent, pseudonym, enqueuedAt} or {reason}.
--
-- KEYS: call offers
-- ARGV: callId opId now connectMs
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'state', 'op', 'callSid', 'consent', 'pseudonym', 'enqueuedAt')
if h[1] == 'offered' and h[2] == op then
  redis.call('HSET', K.call, 'state', 'connecting')
  redis.call('ZADD', K.offers, now + num(ARGV[4]), id)
  return {'ok', h[3], h[4], h[5] or '', h[6]}
end
if (h[1] == 'connecting' or h[1] == 'connected') and h[2] == op then return {'already_accepted'} end
if h[1] == 'offered' or h[1] == 'connecting' or h[1] == 'connected' then return {'taken_elsewhere'} end
if h[1] == 'ended' then return {'caller_hung_up'} end
return {'not_offered'}
