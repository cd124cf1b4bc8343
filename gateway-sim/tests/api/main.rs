//! Integration tests of gateway-sim over HTTP: one test binary, one module per concern.
//! Each test starts its own simulator on 127.0.0.1:0 with [`helpers::spawn_app`].

mod capacity;
mod control;
mod dashboard;
mod disputes;
mod errors;
mod events;
mod faults;
mod fuzz_regressions;
mod helpers;
mod idempotency;
mod lifecycle;
mod openapi;
mod payment_history;
mod payments;
mod raw;
mod receiver;
mod retention;
mod routes;
mod scenarios;
mod settlement;
mod stripe;
mod webhooks;
mod wire_faults;
