-- The node is alive. If its heartbeat had lapsed (or this is its first), its sockets are counted
-- again from the node's own list (opId count pairs). Returns op, revoked call pairs.
--
-- KEYS: node nconns nodes grace ops available waiting offers
-- ARGV: node ttlMs now graceMs [opId count]...
--
-- Keys found at run time: the operators whose counts change (op:<id>), from the node's list and
-- from what Redis last counted for it (nconns:<node>), which only the script reads atomically;
-- and the calls offered to those of them whose last socket is gone (call:<id>).
local node, now, graceMs = ARGV[1], num(ARGV[3]), num(ARGV[4])
if redis.call('SET', K.node, now, 'PX', ARGV[2], 'XX') then return {} end
redis.call('SET', K.node, now, 'PX', ARGV[2])
redis.call('SADD', K.nodes, node)
local want = {}
for i = 5, #ARGV, 2 do want[ARGV[i]] = num(ARGV[i + 1]) end
local have = redis.call('HGETALL', K.nconns)
local out = {}
for i = 1, #have, 2 do
  local op, n = have[i], num(have[i + 1])
  local w = want[op] or 0
  want[op] = nil
  if w > n then addConns(op, okey(op), w - n) end
  if w < n then
    local r = dropConns(op, okey(op), n - w, now, graceMs)
    if r and r ~= '' then table.insert(out, op) table.insert(out, r) end
  end
end
redis.call('DEL', K.nconns)
for i = 5, #ARGV, 2 do
  local op, w = ARGV[i], num(ARGV[i + 1])
  if w > 0 then
    if want[op] then addConns(op, okey(op), w) end
    redis.call('HSET', K.nconns, op, w)
  end
end
changed()
return out
