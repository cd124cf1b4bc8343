//! End-to-end pieces shared by the tests in `tests/e2e/`:
//!
//! - [`merchant`]: a reference merchant payment service with a switchable
//!   double-charge bug (`Idempotency::Off`) and its fix (`Idempotency::On`),
//!   also runnable as the `merchant-service` binary.
//! - [`webhook_merchant`]: the same service's webhook mode (`merchant-service --mode
//!   webhooks`): orders are paid by signed webhooks, with three switchable bugs.
//! - [`service_shapes`]: minimal correct services of the shapes in `scenarios/services/`
//!   (an order service, a charge service, a saga participant), to drive those templates.
//! - `http_service.rs`: the accept loop and JSON answers they all serve with.

mod http_service;
pub mod merchant;
pub mod service_shapes;
pub mod webhook_merchant;
