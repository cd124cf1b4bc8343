//! End-to-end tests: gateway-sim, the reference merchant service and loadgen together.

mod crash;
mod gate;
mod helpers;
mod merchant;
mod service_shapes;
mod snapshot;
mod webhook_gate;
mod webhook_merchant;
