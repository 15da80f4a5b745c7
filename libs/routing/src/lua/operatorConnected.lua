-- A socket of this operator connected to this node. Returns status, call, reason and, last, 0 when
-- the node has no live heartbeat (first socket, or the node was given up for dead).
--
-- KEYS: op nconns nodes node grace ops available
-- ARGV: opId name now node
local op, now, node = ARGV[1], num(ARGV[3]), ARGV[4]
redis.call('HINCRBY', K.nconns, op, 1)
redis.call('SADD', K.nodes, node)
if not redis.call('HGET', K.op, 'status') then opSet(K.op, 'away', now, '', '') end
redis.call('HSET', K.op, 'name', ARGV[2])
addConns(op, K.op, 1)
local o = redis.call('HMGET', K.op, 'status', 'call', 'reason')
changed()
return {o[1], o[2] or '', o[3] or '', redis.call('EXISTS', K.node)}
