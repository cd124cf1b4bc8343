//! Integration tests of gateway-sim over HTTP: one test binary, one module per concern.
//! Each test starts its own simulator on 127.0.0.1:0 with [`helpers::spawn_app`].

mod control;
mod errors;
mod events;
mod faults;
mod helpers;
mod idempotency;
mod openapi;
mod payments;
mod raw;
mod receiver;
mod routes;
mod stripe;
mod webhooks;
mod wire_faults;
