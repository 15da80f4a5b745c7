-- Twilio refused the connect: the call goes back to the queue, or is closed (and counted as
-- abandoned) if the call is gone (gone = 1). The operator is available again.
--
-- KEYS: call op available waiting live offers stats
-- ARGV: callId opId now gone day
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', K.call, 'state', 'op')
if h[1] ~= 'connecting' or h[2] ~= op then return h[1] or 'gone' end
makeAvailable(op, K.op, now)
if ARGV[4] == '1' then
  finish(id, K.call)
  bump(K.stats, 'abandoned')
  changed()
  return 'closed'
end
requeue(id, K.call)
changed()
return 'requeued'
