-- The node shuts down: its sockets are gone. Returns op, revoked call pairs.
--
-- KEYS: node nconns nodes available grace waiting offers
-- ARGV: node now graceMs
--
-- Keys found at run time: the operators the node held sockets of (op:<id>), read from
-- nconns:<node>, and the calls offered to those whose last socket this was (call:<id>).
local out = dropNode(ARGV[1], K.node, K.nconns, num(ARGV[2]), num(ARGV[3]))
changed()
return out
