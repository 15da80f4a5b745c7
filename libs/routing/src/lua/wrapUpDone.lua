-- Wrap-up finished: the operator is available again.
--
-- KEYS: op available
-- ARGV: opId callId now
local op, id, now = ARGV[1], ARGV[2], num(ARGV[3])
local o = redis.call('HMGET', K.op, 'status', 'call')
if o[1] == 'wrap_up' and o[2] == id then
  makeAvailable(op, K.op, now)
  changed()
  return 'ok'
end
if o[1] == 'on_call' and o[2] == id then return 'call_in_progress' end
return 'not_in_wrap_up'
