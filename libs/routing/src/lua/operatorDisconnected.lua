-- A socket of this operator on this node closed. The last socket gone: hold the state for the grace
-- period, revoke an offer at once. A socket the node no longer counts (the node was given up for
-- dead) changes nothing.
--
-- KEYS: op nconns available grace waiting offers
-- ARGV: opId now graceMs node
--
-- Keys found at run time: the call offered to the operator (call:<id>), read from the operator's
-- hash, whose offer is revoked.
local op, now = ARGV[1], num(ARGV[2])
local n = num(redis.call('HGET', K.nconns, op))
if n <= 0 then return {'not_counted'} end
if n == 1 then redis.call('HDEL', K.nconns, op) else redis.call('HINCRBY', K.nconns, op, -1) end
local r = dropConns(op, K.op, 1, now, num(ARGV[3]))
if not r then return {'still_connected'} end
changed()
if r ~= '' then return {'revoked', r} end
return {'grace'}
