-- Pairs the longest-waiting calls with the longest-idle operators.
-- Returns the offers made (callId, opId, expiry, enqueuedAt each).
--
-- KEYS: waiting live available offers
-- ARGV: now offerMs max
--
-- Keys found at run time: the waiting calls (call:<id>) and the available operators (op:<id>),
-- known only once the script has read the queue and the idle line.
local out = matchCalls(num(ARGV[1]), num(ARGV[2]), num(ARGV[3]))
if #out > 0 then changed() end
return out
