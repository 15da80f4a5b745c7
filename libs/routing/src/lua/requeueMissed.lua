-- The operator's browser never picked up (Twilio's <Dial> ended unanswered): the call goes back to
-- the front of the queue, is no longer counted as answered, and the operator is set away.
--
-- KEYS: call waiting live op available
-- ARGV: callId opId now
--
-- Keys found at run time: the counters of the day the call was answered (stats:<day>), which the
-- call's hash holds (answeredDay); it may be another day than now's.
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'state', 'op', 'enqueuedAt', 'answeredDay', 'inSl')
if h[1] ~= 'connected' or h[2] ~= op then return 'ignored' end
redis.call('HSET', K.call, 'state', 'waiting', 'op', '', 'answeredAt', '')
redis.call('ZADD', K.waiting, h[3], id)
redis.call('ZADD', K.live, h[3], id)
if h[4] then
  redis.call('HINCRBY', statsKey(h[4]), 'answered', -1)
  if h[5] == '1' then redis.call('HINCRBY', statsKey(h[4]), 'answeredInSl', -1) end
end
local o = redis.call('HMGET', K.op, 'status', 'call')
if o[1] == 'on_call' and o[2] == id then
  opSet(K.op, 'away', now, '', 'missed_call')
  redis.call('ZREM', K.available, op)
end
changed()
return 'requeued'
