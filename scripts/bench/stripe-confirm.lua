-- stripe-confirm.lua: the Stripe dialect's create-and-confirm, for scripts/bench-ceiling.sh.
--
-- Every request is `POST /v1/payment_intents` with `confirm=true`, form-encoded as Stripe's
-- SDKs send it, with an Idempotency-Key and an order id no other request uses (run tag +
-- thread id + per-thread counter): each one creates, confirms and stores a new payment.
--
-- Environment (read once per thread):
--   BENCH_RUN     a tag kept in every key, so two runs against one server never collide
--   BENCH_API_KEY the merchant's API key (default sk_test_bench)

local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local run = os.getenv("BENCH_RUN") or tostring(os.time())
  local api_key = os.getenv("BENCH_API_KEY") or "sk_test_bench"
  counter = 0
  wrk.method = "POST"
  wrk.path = "/v1/payment_intents"
  wrk.headers["Authorization"] = "Bearer " .. api_key
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  prefix = run .. "-t" .. tid .. "-"
end

function request()
  counter = counter + 1
  local id = prefix .. counter
  wrk.headers["Idempotency-Key"] = "bench-" .. id
  local body = "amount=1000&currency=usd&payment_method=pm_card_visa&confirm=true"
    .. "&metadata%5Border_id%5D=order-" .. id
  return wrk.format(nil, nil, nil, body)
end
