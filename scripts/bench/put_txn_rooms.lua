-- wrk script for goal 4 (issue 10): a Dendrite-like sender with several transactions in flight, each connection
-- for its own rooms. The same workload as the shared put_txn_chain.lua (fresh event ids per request, every state
-- event's unsigned.replaces_state naming the event that set its key before), with two changes:
--   * every room id gets the thread number and the run id appended to its localpart ("!abc:example.org" ->
--     "!abct3<run>:example.org"), so no two connections ever touch the same room (run it with -tN -cN: one connection
--     per thread), and every run's chain starts on rooms of its own, as bench/put_txn_chain.lua's runs do (why: there;
--     without it, every run after a connection's first took the service's mismatch path: issue 19);
--   * the txn ids carry the thread number too, as put_txn_chain.lua's do.
-- Usage: BODY=body-chain.json HS_TOKEN=... wrk -t4 -c4 -d10s --latency -s put_txn_rooms.lua URL -- <4-char runid>
local f = assert(io.open(os.getenv("BODY") or "body-chain.json", "rb"))
local source = f:read("*a")
f:close()

local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

local pieces, kinds = {}, {}

-- split the body at every id tag position: kind "E" (event_id: this tag), "P" (previous tag), "C" (this tag)
local function split(body)
  local pos = 1
  while true do
    local s1, e1 = string.find(body, '"event_id":"$', pos, true)
    local s2, e2 = string.find(body, '"$PPPPPPPPPPPP', pos, true)
    local s3, e3 = string.find(body, '"$CCCCCCCCCCCC', pos, true)
    local s, e, k = s1, e1, "E"
    if s2 and (not s or s2 < s) then s, e, k = s2, e2 - 12, "P" end
    if s3 and (not s or s3 < s) then s, e, k = s3, e3 - 12, "C" end
    if not s then break end
    pieces[#pieces + 1] = string.sub(body, pos, e)
    kinds[#kinds + 1] = k
    pos = e + 13
  end
  pieces[#pieces + 1] = string.sub(body, pos)
end

function init(args)
  run = string.sub((args[1] or "r000") .. "0000", 1, 4)
  prefix = "/_matrix/app/v1/transactions/" .. run .. "-" .. tostring(tid) .. "-"
  counter = 0
  parts = {}
  -- this thread's rooms in this run: "!<localpart>t<tid><run>:example.org"
  split((string.gsub(source, '"(![%w]+):', '"%1t' .. tostring(tid) .. run .. ':')))
end

wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("HS_TOKEN") or "hs_token_secret")

function request()
  counter = counter + 1
  local tag = string.format("%s%d%07d", run, tid % 10, counter)
  local prev = string.format("%s%d%07d", run, tid % 10, counter - 1)
  local n = #pieces
  for i = 1, n - 1 do
    parts[2 * i - 1] = pieces[i]
    parts[2 * i] = (kinds[i] == "P") and prev or tag
  end
  parts[2 * n - 1] = pieces[n]
  return wrk.format(nil, prefix .. counter, nil, table.concat(parts, "", 1, 2 * n - 1))
end
