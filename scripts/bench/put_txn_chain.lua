-- wrk script for new events with consistent state: bench/put_txn_chain.lua (the shared reference workload), with one
-- change: every room id gets the run id appended to its localpart ("!abc:example.org" -> "!abc<run>:example.org").
-- Why: the shared script's chain starts again in every wrk run. Its first request names, in unsigned.replaces_state,
-- events of a request that was never sent (counter 0 of the new run id), so on rooms the service already holds the
-- service's stale-event rule (docs/state-rules.md) does not apply those state events, marks the rooms suspect and asks
-- for a resync; and since they were not applied, the next request's replaces_state (naming them) does not match what
-- the service holds either: every later state event of the run takes the mismatch path, which writes no member or
-- state rows. Measured with the shared script, every wrk run after a database's first measured that cheaper path, not
-- the normal one (found in issue 19: room_state still held the warm-up's events after a run, and a resync was queued
-- by every transaction). With the run's own rooms, the first request is first sight for every key, and every state
-- event after it follows what the service holds, as a homeserver's stream does. The prototype runs the same script.
-- Usage: BODY=body-chain.json wrk -t1 -c1 -d10s --latency -s put_txn_chain.lua URL -- <4-char runid>
local f = assert(io.open(os.getenv("BODY") or "body-chain.json", "rb"))
local source = f:read("*a")
f:close()

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

local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  run = string.sub((args[1] or "r000") .. "0000", 1, 4)
  prefix = "/_matrix/app/v1/transactions/" .. run .. "-" .. tostring(tid) .. "-"
  counter = 0
  parts = {}
  -- this run's rooms: "!<localpart><run>:example.org"
  split((string.gsub(source, '"(![%w]+):', '"%1' .. run .. ':')))
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
