-- unique-payments.lua: wrk script for gateway-sim's throughput and memory benchmarks.
--
-- Every request is `POST /v1/payments` with an Idempotency-Key and reference no other request
-- uses (run tag + thread id + per-thread counter), so each one creates and stores a new payment
-- instead of being replayed: the benchmark measures the write path, not a cache hit.
--
-- Environment (read once per thread):
--   BENCH_RUN     a tag kept in every key, so two runs against one server never collide
--   BENCH_API_KEY the merchant's API key (default sk_test_bench)
--   BENCH_MAX     stop (wrk.thread:stop) after this many answers per thread (0 = no limit),
--                 which turns a duration-bounded run into a request budget for the memory test

local thread_count = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  run = os.getenv("BENCH_RUN") or tostring(os.time())
  budget = tonumber(os.getenv("BENCH_MAX") or "0") or 0
  counter = 0
  responses = 0
  local api_key = os.getenv("BENCH_API_KEY") or "sk_test_bench"
  wrk.method = "POST"
  wrk.path = "/v1/payments"
  wrk.headers["Authorization"] = "Bearer " .. api_key
  wrk.headers["Content-Type"] = "application/json"
  prefix = run .. "-t" .. tid .. "-"
  -- wrk only parses answers for Lua when `response` exists, which costs CPU the server could
  -- use; without a budget, wrk's own "Non-2xx" line is all the checking needed.
  if budget <= 0 then
    response = nil
  end
end

function request()
  counter = counter + 1
  local id = prefix .. counter
  wrk.headers["Idempotency-Key"] = "bench-" .. id
  local body = '{"amount":1000,"currency":"usd","payment_method":"pm_card_visa","reference":"order-'
    .. id .. '"}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  responses = responses + 1
  if budget > 0 and responses >= budget then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local sent = 0
  for _, t in ipairs(threads) do
    sent = sent + (t:get("counter") or 0)
  end
  io.write(string.format("lua: payment requests built %d\n", sent))
end
