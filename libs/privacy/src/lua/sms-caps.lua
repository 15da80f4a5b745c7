-- Takes one verification SMS from three sliding one-hour windows at once, or none: per number,
-- per country calling code, in all. Each window is a sorted set of sends scored by the time they
-- were taken (the app's clock, so tests move time); entries older than the window are dropped first.
-- A refusal names the first cap that is full, and asks for an alert when that cap's key has had
-- none within the window (one alert per cap and key per window, not one per refused SMS).
-- KEYS: number country total numberAlerted countryAlerted totalAlerted
-- ARGV: nowMs windowMs perNumber perCountry perHour member
-- Returns {0, 0} when taken; {i, alert} when refused at cap i (1 number, 2 country, 3 total).
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local since = now - window
for i = 1, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', since)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[2 + i]) then
    local last = tonumber(redis.call('GET', KEYS[3 + i]) or '')
    if last == nil or last <= since or last > now then
      redis.call('SET', KEYS[3 + i], ARGV[1], 'PX', window)
      return {i, 1}
    end
    return {i, 0}
  end
end
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[i], window)
end
return {0, 0}
