//! Minimal, correct implementations of the service shapes in `scenarios/services/`, so the
//! end-to-end tests can drive each template against a real service over real sockets:
//!
//! - [`Shape::OrderService`]: `POST /payments/process` with a decimal `amount`.
//! - [`Shape::ChargeService`]: `POST /v1/charge` with an `Idempotency-Key` header and
//!   `merchant_order_id`/`amount_cents`.
//! - [`Shape::SagaParticipant`]: `POST /payments/authorize`, then
//!   `POST /payments/{order_id}/capture` or `/void`.
//!
//! Each passes the order id to the gateway as `reference` and retries the gateway with one
//! idempotency key per operation, so it stays correct under `flaky-network`. They refuse a
//! request that is not of their shape (400), so a template that drifts from its shape fails
//! the run instead of passing unnoticed.

mod gateway;
mod handlers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::http_service::serve;
use gateway::Gateway;

/// Which shape to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    OrderService,
    ChargeService,
    SagaParticipant,
}

/// A running shape service; dropping it stops the server.
pub struct ShapeService {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl ShapeService {
    /// Serves `shape` on a free loopback port, in front of the gateway at `gateway_url`.
    pub async fn start(shape: Shape, gateway_url: &str) -> std::io::Result<ShapeService> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(handlers::ShapeState::new(
            shape,
            Gateway::new(gateway_url, Duration::from_secs(1))?,
        ));
        let server = tokio::spawn(serve(listener, state, |state, req| async move {
            handlers::route(&state, req).await
        }));
        Ok(ShapeService { addr, server })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ShapeService {
    fn drop(&mut self) {
        self.server.abort();
    }
}
