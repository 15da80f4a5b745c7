-- Dead nodes' sockets, expired offers and connects, and operators whose grace period ran out.
-- A node whose own heartbeat lapsed (it stalled, or Redis was away) judges no other node until it
-- has beaten again. Returns kind, callId, opId (or node id for node_gone) triples.
--
-- KEYS: node nodes offers grace waiting available ops
-- ARGV: now max node graceMs
--
-- Keys found at run time: the other nodes' heartbeats and socket counts (node:<id>, nconns:<id>),
-- the calls whose offer or connect expired (call:<id>), and the operators of those calls, of a
-- dead node and of a lapsed grace period (op:<id>). All are read from the sets swept here.
local now, max, me = num(ARGV[1]), num(ARGV[2]), ARGV[3]
local out = {}
if redis.call('EXISTS', K.node) == 1 then
  for _, node in ipairs(redis.call('SMEMBERS', K.nodes)) do
    if node ~= me and redis.call('EXISTS', nodeKey(node)) == 0 then
      local revoked = dropNode(node, nodeKey(node), nodeConns(node), now, num(ARGV[4]))
      for i = 1, #revoked, 2 do table.insert(out, 'revoked') table.insert(out, revoked[i + 1]) table.insert(out, revoked[i]) end
      table.insert(out, 'node_gone') table.insert(out, '') table.insert(out, node)
    end
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K.offers, '-inf', now, 'LIMIT', 0, max)) do
  local h = redis.call('HMGET', ck(id), 'state', 'op')
  if h[1] == 'offered' then
    requeue(id, ck(id))
    if redis.call('HGET', okey(h[2]), 'call') == id then
      opSet(okey(h[2]), 'away', now, '', 'timeout')
      redis.call('ZREM', K.available, h[2])
    end
    table.insert(out, 'timeout') table.insert(out, id) table.insert(out, h[2])
  elseif h[1] == 'connecting' then
    requeue(id, ck(id))
    makeAvailable(h[2], okey(h[2]), now)
    table.insert(out, 'connect_stale') table.insert(out, id) table.insert(out, h[2])
  else
    redis.call('ZREM', K.offers, id)
  end
end
for _, op in ipairs(redis.call('ZRANGEBYSCORE', K.grace, '-inf', now, 'LIMIT', 0, max)) do
  redis.call('ZREM', K.grace, op)
  local o = redis.call('HMGET', okey(op), 'conns', 'status')
  if num(o[1]) <= 0 and o[2] ~= 'on_call' then
    opSet(okey(op), 'away', now, '', 'disconnected')
    redis.call('ZREM', K.available, op)
    redis.call('SREM', K.ops, op)
    table.insert(out, 'gone') table.insert(out, '') table.insert(out, op)
  end
end
if #out > 0 then changed() end
return out
