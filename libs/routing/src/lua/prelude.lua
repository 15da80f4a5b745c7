-- Shared by every routing script. The loader (routing.scripts.ts) puts this file in front of each
-- script, then `bind{...}` with the names on the script's `-- KEYS:` line, then the script itself.
-- Each script runs atomically in Redis, so any number of gateway nodes can change the same state
-- without locks of their own.
--
-- Keys, under the prefix P (default hl:{rt}:). P holds a hash tag, so every routing key hashes to
-- one Redis Cluster slot:
--   waiting     P..'waiting'      ZSET callId -> enqueuedAt   calls waiting for an offer (oldest first)
--   live        P..'live'         ZSET callId -> enqueuedAt   calls whose caller is still waiting (waiting, offered, connecting)
--   available   P..'available'    ZSET opId -> idleSince      operators who can take an offer (longest idle first)
--   offers      P..'offers'       ZSET callId -> deadline     offers (and connects in flight) by expiry
--   grace       P..'grace'        ZSET opId -> deadline       disconnected operators within their grace period
--   ops         P..'ops'          SET opId                    operators on shift (shown on the wallboard)
--   nodes       P..'nodes'        SET nodeId                  gateway nodes that hold (or held) operator sockets
--   call        P..'call:'..id    HASH callSid pseudonym (live calls only) consent enqueuedAt state op expiresAt declinedBy declinedUntil answeredAt answeredDay inSl
--   op          P..'op:'..id      HASH status since call reason name conns
--   sid         P..'sid:'..sid    STRING callId
--   seq         P..'seq:'..sid    STRING highest status-callback SequenceNumber seen
--   stats       P..'stats:'..day  HASH answered answeredInSl abandoned
--   node        P..'node:'..id    STRING, expiring            a node's heartbeat; gone = the node is dead
--   nconns      P..'nconns:'..id  HASH opId -> sockets        a node's share of each operator's `conns`
-- Call states: waiting -> offered -> connecting -> connected -> ended (or back to waiting).
-- Every change publishes on P..'changed' (a channel, not a key) so that every node re-matches and
-- refreshes the wallboard. A node that dies without closing its sockets stops beating; any live
-- node's sweep then takes its sockets off the count, and the operators it held get the usual
-- disconnect grace period.
--
-- A script reaches every key it can name from its arguments through K (K.call, K.op, K.waiting...),
-- all passed as KEYS by the caller. Keys it can only find while it runs (the calls in the queue,
-- the operators of a dead node...) are built on P by ck, okey, nodeKey, nodeConns and statsKey
-- below. P is taken from KEYS, and bind checks that every key starts with it: keys built on P
-- share the hash tag, hence the slot, of KEYS, which Redis Cluster allows. Each script that does
-- so says which keys and why at its top ("Keys found at run time").

local K = {}
local P
local SHARED = { waiting = true, live = true, available = true, offers = true, grace = true, ops = true, nodes = true }
local function bind(names)
  if #KEYS ~= #names then return error('routing: expected KEYS ' .. table.concat(names, ' ')) end
  for i, name in ipairs(names) do
    K[name] = KEYS[i]
    if not P and SHARED[name] then P = string.sub(KEYS[i], 1, #KEYS[i] - #name) end
  end
  if not P then return error('routing: KEYS need one of the shared keys, to read the prefix from') end
  for _, k in ipairs(KEYS) do
    if string.sub(k, 1, #P) ~= P then return error('routing: every key must start with the routing prefix') end
  end
end
local function num(v) return tonumber(v) or 0 end
local function ck(id) return P .. 'call:' .. id end
local function okey(id) return P .. 'op:' .. id end
local function nodeKey(node) return P .. 'node:' .. node end
local function nodeConns(node) return P .. 'nconns:' .. node end
local function statsKey(day) return P .. 'stats:' .. day end
local function changed() redis.call('PUBLISH', P .. 'changed', '1') end
-- opk: the operator's hash.
local function opSet(opk, status, now, call, reason)
  redis.call('HSET', opk, 'status', status, 'since', now, 'call', call or '', 'reason', reason or '')
end
local function makeAvailable(op, opk, now)
  opSet(opk, 'available', now)
  if num(redis.call('HGET', opk, 'conns')) > 0 then redis.call('ZADD', K.available, now, op) end
end
-- callk: the call's hash.
local function requeue(id, callk)
  local t = redis.call('HGET', callk, 'enqueuedAt')
  redis.call('HSET', callk, 'state', 'waiting', 'op', '', 'expiresAt', '')
  redis.call('ZREM', K.offers, id)
  redis.call('ZADD', K.waiting, t, id)
end
-- An ended call keeps no pseudonym (only the live call needs it, for the returning-caller hint), and
-- its hash goes soon after: what is left (state, SID, times) answers late callbacks for a while.
local ENDED_TTL = 300
local function finish(id, callk)
  redis.call('HSET', callk, 'state', 'ended')
  redis.call('HDEL', callk, 'pseudonym')
  redis.call('ZREM', K.waiting, id)
  redis.call('ZREM', K.live, id)
  redis.call('ZREM', K.offers, id)
  redis.call('EXPIRE', callk, ENDED_TTL)
end
-- Offers the longest-waiting calls to the longest-idle operators; returns id, op, expiry, enqueuedAt per offer.
local function matchCalls(now, offerMs, max)
  local out = {}
  local calls = redis.call('ZRANGE', K.waiting, 0, 99)
  for _, id in ipairs(calls) do
    if #out >= max * 4 then break end
    local h = redis.call('HMGET', ck(id), 'state', 'enqueuedAt', 'declinedBy', 'declinedUntil')
    if h[1] ~= 'waiting' then
      redis.call('ZREM', K.waiting, id)
      if not h[1] then redis.call('ZREM', K.live, id) end
    else
      local ops = redis.call('ZRANGE', K.available, 0, 49)
      if #ops == 0 then break end
      local pick = nil
      for _, op in ipairs(ops) do
        if redis.call('HGET', okey(op), 'status') ~= 'available' then
          redis.call('ZREM', K.available, op)
        elseif not (op == h[3] and now < num(h[4])) then
          pick = op
          break
        end
      end
      if pick then
        local exp = now + offerMs
        redis.call('ZREM', K.waiting, id)
        redis.call('ZREM', K.available, pick)
        redis.call('HSET', ck(id), 'state', 'offered', 'op', pick, 'expiresAt', exp)
        opSet(okey(pick), 'offered', now, id)
        redis.call('ZADD', K.offers, exp, id)
        table.insert(out, id)
        table.insert(out, pick)
        table.insert(out, tostring(exp))
        table.insert(out, h[2])
      end
    end
  end
  return out
end
-- n more sockets of this operator, on some node.
local function addConns(op, opk, n)
  redis.call('HINCRBY', opk, 'conns', n)
  redis.call('ZREM', K.grace, op)
  local o = redis.call('HMGET', opk, 'status', 'since')
  if o[1] then redis.call('SADD', K.ops, op) end
  if o[1] == 'available' then redis.call('ZADD', K.available, 'NX', o[2], op) end
end
-- n fewer. The last one gone starts the grace period and revokes an offer at once; returns that call, if any.
local function dropConns(op, opk, n, now, graceMs)
  local conns = redis.call('HINCRBY', opk, 'conns', -n)
  if conns > 0 then return false end
  if conns < 0 then redis.call('HSET', opk, 'conns', 0) end
  redis.call('ZREM', K.available, op)
  redis.call('ZADD', K.grace, now + graceMs, op)
  local o = redis.call('HMGET', opk, 'status', 'call')
  if o[1] == 'offered' and o[2] and o[2] ~= '' and redis.call('HGET', ck(o[2]), 'state') == 'offered' then
    requeue(o[2], ck(o[2]))
    opSet(opk, 'available', now)
    return o[2]
  end
  return ''
end
-- Takes every socket a node registered off the count (nodek, connsk: its heartbeat and its nconns).
-- Returns op, revoked call pairs.
local function dropNode(node, nodek, connsk, now, graceMs)
  local out = {}
  local have = redis.call('HGETALL', connsk)
  for i = 1, #have, 2 do
    local r = dropConns(have[i], okey(have[i]), num(have[i + 1]), now, graceMs)
    if r and r ~= '' then table.insert(out, have[i]) table.insert(out, r) end
  end
  redis.call('DEL', connsk, nodek)
  redis.call('SREM', K.nodes, node)
  return out
end
-- statsk: one day's counters, kept three days.
local function bump(statsk, field)
  redis.call('HINCRBY', statsk, field, 1)
  redis.call('EXPIRE', statsk, 259200)
end
