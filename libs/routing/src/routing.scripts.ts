/**
 * The routing state machine as Lua scripts: each runs atomically in Redis, so any number of
 * gateway nodes can change the same state without locks of their own.
 *
 * Keys under the prefix P (one hash tag, so a Redis Cluster keeps them in one slot):
 *   P..'waiting'   ZSET callId -> enqueuedAt   calls waiting for an offer (oldest first)
 *   P..'live'      ZSET callId -> enqueuedAt   calls whose caller is still waiting (waiting, offered, connecting)
 *   P..'available' ZSET opId -> idleSince      operators who can take an offer (longest idle first)
 *   P..'offers'    ZSET callId -> deadline      offers (and connects in flight) by expiry
 *   P..'grace'     ZSET opId -> deadline        disconnected operators within their grace period
 *   P..'ops'       SET opId                     operators on shift (shown on the wallboard)
 *   P..'call:'..id HASH callSid pseudonym consent enqueuedAt state op expiresAt declinedBy declinedUntil answeredAt
 *   P..'op:'..id   HASH status since call reason name conns
 *   P..'sid:'..sid STRING callId
 *   P..'seq:'..sid STRING highest status-callback SequenceNumber seen
 *   P..'stats:'..day HASH answered answeredInSl abandoned
 *   P..'nodes'     SET nodeId                   gateway nodes that hold (or held) operator sockets
 *   P..'node:'..id STRING, expiring             a node's heartbeat; gone = the node is dead
 *   P..'nconns:'..id HASH opId -> sockets       a node's share of each operator's `conns`
 * Call states: waiting -> offered -> connecting -> connected -> ended (or back to waiting).
 * Every change publishes on P..'changed' so that every node re-matches and refreshes the wallboard.
 * A node that dies without closing its sockets stops beating; any live node's sweep then takes its
 * sockets off the count, and the operators it held get the usual disconnect grace period.
 */
const prelude = (P: string) => `
local P = '${P}'
local function ck(id) return P .. 'call:' .. id end
local function okey(id) return P .. 'op:' .. id end
local function changed() redis.call('PUBLISH', P .. 'changed', '1') end
local function num(v) return tonumber(v) or 0 end
local function opSet(op, status, now, call, reason)
  redis.call('HSET', okey(op), 'status', status, 'since', now, 'call', call or '', 'reason', reason or '')
end
local function makeAvailable(op, now)
  opSet(op, 'available', now)
  if num(redis.call('HGET', okey(op), 'conns')) > 0 then redis.call('ZADD', P .. 'available', now, op) end
end
local function requeue(id)
  local t = redis.call('HGET', ck(id), 'enqueuedAt')
  redis.call('HSET', ck(id), 'state', 'waiting', 'op', '', 'expiresAt', '')
  redis.call('ZREM', P .. 'offers', id)
  redis.call('ZADD', P .. 'waiting', t, id)
end
local function finish(id)
  redis.call('HSET', ck(id), 'state', 'ended')
  redis.call('ZREM', P .. 'waiting', id)
  redis.call('ZREM', P .. 'live', id)
  redis.call('ZREM', P .. 'offers', id)
  redis.call('EXPIRE', ck(id), 3600)
end
-- Offers the longest-waiting calls to the longest-idle operators; returns id, op, expiry, enqueuedAt per offer.
local function matchCalls(now, offerMs, max)
  local out = {}
  local calls = redis.call('ZRANGE', P .. 'waiting', 0, 99)
  for _, id in ipairs(calls) do
    if #out >= max * 4 then break end
    local h = redis.call('HMGET', ck(id), 'state', 'enqueuedAt', 'declinedBy', 'declinedUntil')
    if h[1] ~= 'waiting' then
      redis.call('ZREM', P .. 'waiting', id)
      if not h[1] then redis.call('ZREM', P .. 'live', id) end
    else
      local ops = redis.call('ZRANGE', P .. 'available', 0, 49)
      if #ops == 0 then break end
      local pick = nil
      for _, op in ipairs(ops) do
        if redis.call('HGET', okey(op), 'status') ~= 'available' then
          redis.call('ZREM', P .. 'available', op)
        elseif not (op == h[3] and now < num(h[4])) then
          pick = op
          break
        end
      end
      if pick then
        local exp = now + offerMs
        redis.call('ZREM', P .. 'waiting', id)
        redis.call('ZREM', P .. 'available', pick)
        redis.call('HSET', ck(id), 'state', 'offered', 'op', pick, 'expiresAt', exp)
        opSet(pick, 'offered', now, id)
        redis.call('ZADD', P .. 'offers', exp, id)
        table.insert(out, id)
        table.insert(out, pick)
        table.insert(out, tostring(exp))
        table.insert(out, h[2])
      end
    end
  end
  return out
end
local function nodeKey(node) return P .. 'node:' .. node end
local function nodeConns(node) return P .. 'nconns:' .. node end
-- n more sockets of this operator, on some node.
local function addConns(op, n)
  local k = okey(op)
  redis.call('HINCRBY', k, 'conns', n)
  redis.call('ZREM', P .. 'grace', op)
  local o = redis.call('HMGET', k, 'status', 'since')
  if o[1] then redis.call('SADD', P .. 'ops', op) end
  if o[1] == 'available' then redis.call('ZADD', P .. 'available', 'NX', o[2], op) end
end
-- n fewer. The last one gone starts the grace period and revokes an offer at once; returns that call, if any.
local function dropConns(op, n, now, graceMs)
  local k = okey(op)
  local conns = redis.call('HINCRBY', k, 'conns', -n)
  if conns > 0 then return false end
  if conns < 0 then redis.call('HSET', k, 'conns', 0) end
  redis.call('ZREM', P .. 'available', op)
  redis.call('ZADD', P .. 'grace', now + graceMs, op)
  local o = redis.call('HMGET', k, 'status', 'call')
  if o[1] == 'offered' and o[2] and o[2] ~= '' and redis.call('HGET', ck(o[2]), 'state') == 'offered' then
    requeue(o[2])
    opSet(op, 'available', now)
    return o[2]
  end
  return ''
end
-- Takes every socket a node registered off the count. Returns op, revoked call pairs.
local function dropNode(node, now, graceMs)
  local out = {}
  local have = redis.call('HGETALL', nodeConns(node))
  for i = 1, #have, 2 do
    local r = dropConns(have[i], num(have[i + 1]), now, graceMs)
    if r and r ~= '' then table.insert(out, have[i]) table.insert(out, r) end
  end
  redis.call('DEL', nodeConns(node), nodeKey(node))
  redis.call('SREM', P .. 'nodes', node)
  return out
end
local function bump(day, field)
  redis.call('HINCRBY', P .. 'stats:' .. day, field, 1)
  redis.call('EXPIRE', P .. 'stats:' .. day, 259200)
end
`;

const scripts = {
  /**
   * ARGV: callId callSid pseudonym consent enqueuedAt now offerMs. Idempotent: a known call keeps its
   * state. A new call is matched at once, in the same script: the offer needs no second round trip.
   */
  enqueue: `
local id, sid = ARGV[1], ARGV[2]
local st = redis.call('HGET', ck(id), 'state')
if st then return {st} end
redis.call('HSET', ck(id), 'callSid', sid, 'pseudonym', ARGV[3], 'consent', ARGV[4], 'enqueuedAt', ARGV[5], 'state', 'waiting')
redis.call('EXPIRE', ck(id), 86400)
redis.call('SET', P .. 'sid:' .. sid, id, 'EX', 86400)
redis.call('ZADD', P .. 'waiting', ARGV[5], id)
redis.call('ZADD', P .. 'live', ARGV[5], id)
local out = matchCalls(num(ARGV[6]), num(ARGV[7]), 50)
changed()
table.insert(out, 1, 'queued')
return out`,

  /** ARGV: now offerMs max. Pairs the longest-waiting calls with the longest-idle operators. */
  match: `
local out = matchCalls(num(ARGV[1]), num(ARGV[2]), num(ARGV[3]))
if #out > 0 then changed() end
return out`,

  /** ARGV: callId opId now connectMs. Only the operator holding the offer wins, and only once. */
  accept: `
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', ck(id), 'state', 'op', 'callSid', 'consent', 'pseudonym', 'enqueuedAt')
if h[1] == 'offered' and h[2] == op then
  redis.call('HSET', ck(id), 'state', 'connecting')
  redis.call('ZADD', P .. 'offers', now + num(ARGV[4]), id)
  return {'ok', h[3], h[4], h[5] or '', h[6]}
end
if (h[1] == 'connecting' or h[1] == 'connected') and h[2] == op then return {'already_accepted'} end
if h[1] == 'offered' or h[1] == 'connecting' or h[1] == 'connected' then return {'taken_elsewhere'} end
if h[1] == 'ended' then return {'caller_hung_up'} end
return {'not_offered'}`,

  /** ARGV: callId opId now slMs day. Twilio took the connect: the operator is on the call. */
  connected: `
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', ck(id), 'state', 'op', 'enqueuedAt')
if h[1] ~= 'connecting' or h[2] ~= op then return {h[1] or 'gone'} end
local inSl = now - num(h[3]) <= num(ARGV[4])
redis.call('HSET', ck(id), 'state', 'connected', 'answeredAt', now, 'answeredDay', ARGV[5], 'inSl', inSl and '1' or '0')
redis.call('ZREM', P .. 'offers', id)
redis.call('ZREM', P .. 'live', id)
opSet(op, 'on_call', now, id)
bump(ARGV[5], 'answered')
if inSl then bump(ARGV[5], 'answeredInSl') end
changed()
return {'ok', h[3]}`,

  /**
   * ARGV: callId opId now. The operator's browser never picked up (Twilio's <Dial> ended unanswered):
   * the call goes back to the front of the queue, is not counted as answered, and the operator is set away.
   */
  requeueMissed: `
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', ck(id), 'state', 'op', 'enqueuedAt', 'answeredDay', 'inSl')
if h[1] ~= 'connected' or h[2] ~= op then return 'ignored' end
redis.call('HSET', ck(id), 'state', 'waiting', 'op', '', 'answeredAt', '')
redis.call('ZADD', P .. 'waiting', h[3], id)
redis.call('ZADD', P .. 'live', h[3], id)
if h[4] then
  redis.call('HINCRBY', P .. 'stats:' .. h[4], 'answered', -1)
  if h[5] == '1' then redis.call('HINCRBY', P .. 'stats:' .. h[4], 'answeredInSl', -1) end
end
local o = redis.call('HMGET', okey(op), 'status', 'call')
if o[1] == 'on_call' and o[2] == id then
  opSet(op, 'away', now, '', 'missed_call')
  redis.call('ZREM', P .. 'available', op)
end
changed()
return 'requeued'`,

  /** ARGV: callId opId now gone(1|0) day. Twilio refused the connect: back to the queue, or closed if the call is gone. */
  connectFailed: `
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', ck(id), 'state', 'op')
if h[1] ~= 'connecting' or h[2] ~= op then return h[1] or 'gone' end
makeAvailable(op, now)
if ARGV[4] == '1' then
  finish(id)
  bump(ARGV[5], 'abandoned')
  changed()
  return 'closed'
end
requeue(id)
changed()
return 'requeued'`,

  /** ARGV: callId opId now skipMs. The call goes back to the front; the decliner to the back of the idle line. */
  decline: `
local id, op, now = ARGV[1], ARGV[2], num(ARGV[3])
local h = redis.call('HMGET', ck(id), 'state', 'op')
if h[1] ~= 'offered' or h[2] ~= op then return 'not_offered' end
requeue(id)
redis.call('HSET', ck(id), 'declinedBy', op, 'declinedUntil', now + num(ARGV[4]))
makeAvailable(op, now)
changed()
return 'ok'`,

  /**
   * ARGV: now max node graceMs. Dead nodes' sockets, expired offers and connects, and operators
   * whose grace period ran out. A node whose own heartbeat lapsed (it stalled, or Redis was away)
   * judges no other node until it has beaten again.
   */
  sweep: `
local now, max, me = num(ARGV[1]), num(ARGV[2]), ARGV[3]
local out = {}
if redis.call('EXISTS', nodeKey(me)) == 1 then
  for _, node in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
    if node ~= me and redis.call('EXISTS', nodeKey(node)) == 0 then
      local revoked = dropNode(node, now, num(ARGV[4]))
      for i = 1, #revoked, 2 do table.insert(out, 'revoked') table.insert(out, revoked[i + 1]) table.insert(out, revoked[i]) end
      table.insert(out, 'node_gone') table.insert(out, '') table.insert(out, node)
    end
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'offers', '-inf', now, 'LIMIT', 0, max)) do
  local h = redis.call('HMGET', ck(id), 'state', 'op')
  if h[1] == 'offered' then
    requeue(id)
    if redis.call('HGET', okey(h[2]), 'call') == id then
      opSet(h[2], 'away', now, '', 'timeout')
      redis.call('ZREM', P .. 'available', h[2])
    end
    table.insert(out, 'timeout') table.insert(out, id) table.insert(out, h[2])
  elseif h[1] == 'connecting' then
    requeue(id)
    makeAvailable(h[2], now)
    table.insert(out, 'connect_stale') table.insert(out, id) table.insert(out, h[2])
  else
    redis.call('ZREM', P .. 'offers', id)
  end
end
for _, op in ipairs(redis.call('ZRANGEBYSCORE', P .. 'grace', '-inf', now, 'LIMIT', 0, max)) do
  redis.call('ZREM', P .. 'grace', op)
  local o = redis.call('HMGET', okey(op), 'conns', 'status')
  if num(o[1]) <= 0 and o[2] ~= 'on_call' then
    opSet(op, 'away', now, '', 'disconnected')
    redis.call('ZREM', P .. 'available', op)
    redis.call('SREM', P .. 'ops', op)
    table.insert(out, 'gone') table.insert(out, '') table.insert(out, op)
  end
end
if #out > 0 then changed() end
return out`,

  /** ARGV: callSid seq terminal(1|0) now day. Idempotent on CallSid + SequenceNumber; late ones are ignored. */
  callStatus: `
local sid, seq, now = ARGV[1], num(ARGV[2]), num(ARGV[4])
if seq >= 0 then
  local last = tonumber(redis.call('GET', P .. 'seq:' .. sid) or '-1')
  if seq <= last then return {'duplicate'} end
  redis.call('SET', P .. 'seq:' .. sid, seq, 'EX', 86400)
end
if ARGV[3] ~= '1' then return {'noted'} end
local id = redis.call('GET', P .. 'sid:' .. sid)
if not id then return {'unknown'} end
local h = redis.call('HMGET', ck(id), 'state', 'op')
if h[1] == 'waiting' then
  finish(id)
  bump(ARGV[5], 'abandoned')
  changed()
  return {'abandoned', id, ''}
end
if h[1] == 'offered' or h[1] == 'connecting' then
  finish(id)
  bump(ARGV[5], 'abandoned')
  if redis.call('HGET', okey(h[2]), 'call') == id then makeAvailable(h[2], now) end
  changed()
  return {'abandoned', id, h[2]}
end
if h[1] == 'connected' then
  finish(id)
  local o = redis.call('HMGET', okey(h[2]), 'status', 'call', 'conns')
  if o[1] == 'on_call' and o[2] == id then
    if num(o[3]) > 0 or redis.call('ZSCORE', P .. 'grace', h[2]) then
      opSet(h[2], 'wrap_up', now, id)
    else
      opSet(h[2], 'away', now, '', 'disconnected')
    end
  end
  changed()
  return {'completed', id, h[2]}
end
return {'duplicate', id}`,

  /**
   * ARGV: opId name now node. A socket of this operator connected to this node. The last value
   * returned is 0 when the node has no live heartbeat (first socket, or the node was given up for dead).
   */
  operatorConnected: `
local op, now, node = ARGV[1], num(ARGV[3]), ARGV[4]
local k = okey(op)
redis.call('HINCRBY', nodeConns(node), op, 1)
redis.call('SADD', P .. 'nodes', node)
if not redis.call('HGET', k, 'status') then opSet(op, 'away', now, '', '') end
redis.call('HSET', k, 'name', ARGV[2])
addConns(op, 1)
local o = redis.call('HMGET', k, 'status', 'call', 'reason')
changed()
return {o[1], o[2] or '', o[3] or '', redis.call('EXISTS', nodeKey(node))}`,

  /**
   * ARGV: opId now graceMs node. The last socket gone: hold the state for the grace period, revoke
   * an offer at once. A socket the node no longer counts (the node was given up for dead) changes nothing.
   */
  operatorDisconnected: `
local op, now, node = ARGV[1], num(ARGV[2]), ARGV[4]
local n = num(redis.call('HGET', nodeConns(node), op))
if n <= 0 then return {'not_counted'} end
if n == 1 then redis.call('HDEL', nodeConns(node), op) else redis.call('HINCRBY', nodeConns(node), op, -1) end
local r = dropConns(op, 1, now, num(ARGV[3]))
if not r then return {'still_connected'} end
changed()
if r ~= '' then return {'revoked', r} end
return {'grace'}`,

  /**
   * ARGV: node ttlMs now graceMs [opId count]... The node is alive. If its heartbeat had lapsed (or
   * this is its first), its sockets are counted again from the node's own list. Returns op, revoked call pairs.
   */
  heartbeat: `
local node, now, graceMs = ARGV[1], num(ARGV[3]), num(ARGV[4])
if redis.call('SET', nodeKey(node), now, 'PX', ARGV[2], 'XX') then return {} end
redis.call('SET', nodeKey(node), now, 'PX', ARGV[2])
redis.call('SADD', P .. 'nodes', node)
local hk = nodeConns(node)
local want = {}
for i = 5, #ARGV, 2 do want[ARGV[i]] = num(ARGV[i + 1]) end
local have = redis.call('HGETALL', hk)
local out = {}
for i = 1, #have, 2 do
  local op, n = have[i], num(have[i + 1])
  local w = want[op] or 0
  want[op] = nil
  if w > n then addConns(op, w - n) end
  if w < n then
    local r = dropConns(op, n - w, now, graceMs)
    if r and r ~= '' then table.insert(out, op) table.insert(out, r) end
  end
end
redis.call('DEL', hk)
for i = 5, #ARGV, 2 do
  local op, w = ARGV[i], num(ARGV[i + 1])
  if w > 0 then
    if want[op] then addConns(op, w) end
    redis.call('HSET', hk, op, w)
  end
end
changed()
return out`,

  /** ARGV: node now graceMs. The node shuts down: its sockets are gone. Returns op, revoked call pairs. */
  leave: `
local out = dropNode(ARGV[1], num(ARGV[2]), num(ARGV[3]))
changed()
return out`,

  /** ARGV: opId status now. available or away; refused while on a call or in wrap-up. */
  setStatus: `
local op, want, now = ARGV[1], ARGV[2], num(ARGV[3])
local o = redis.call('HMGET', okey(op), 'status', 'call', 'conns', 'since')
local cur = o[1] or 'away'
if want == 'available' then
  if cur == 'available' then
    if num(o[3]) > 0 then redis.call('ZADD', P .. 'available', 'NX', o[4], op) end
    return {'ok', 'available'}
  end
  if cur == 'away' then
    makeAvailable(op, now)
    changed()
    return {'ok', 'available'}
  end
  return {'busy', cur}
end
if cur == 'away' then return {'ok', 'away'} end
if cur == 'available' then
  opSet(op, 'away', now, '', '')
  redis.call('ZREM', P .. 'available', op)
  changed()
  return {'ok', 'away'}
end
if cur == 'offered' and redis.call('HGET', ck(o[2]), 'state') == 'offered' then
  requeue(o[2])
  opSet(op, 'away', now, '', '')
  changed()
  return {'ok', 'away', o[2]}
end
return {'busy', cur}`,

  /** ARGV: opId callId now. Wrap-up finished: available again. */
  wrapUpDone: `
local op, id, now = ARGV[1], ARGV[2], num(ARGV[3])
local o = redis.call('HMGET', okey(op), 'status', 'call')
if o[1] == 'wrap_up' and o[2] == id then
  makeAvailable(op, now)
  changed()
  return 'ok'
end
if o[1] == 'on_call' and o[2] == id then return 'call_in_progress' end
return 'not_in_wrap_up'`,
} as const;

export type RoutingScript = keyof typeof scripts;

export function routingScripts(prefix: string): Record<RoutingScript, string> {
  if (!/^[A-Za-z0-9:{}_-]+$/.test(prefix)) throw new Error('routing prefix may hold letters, digits and : { } _ - only');
  const out = {} as Record<RoutingScript, string>;
  for (const [name, body] of Object.entries(scripts)) out[name as RoutingScript] = prelude(prefix) + body;
  return out;
}
