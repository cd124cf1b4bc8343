//! The reference merchant service's webhook mode: orders are paid when the gateway
//! says so in a signed webhook, not when the payment call answers.
//!
//! - `POST /orders` (`order_id`, `amount`, `currency`) opens a `pending` order, authorizes a
//!   payment with the native API (`reference` = order id, one idempotency key per order) and
//!   captures it at once, then answers 202 with the order, still `pending`.
//! - `POST /webhooks` (give it to gateway-sim as `--webhook native:http://HOST:PORT/webhooks`)
//!   verifies the `Gateway-Signature` against the configured secret (400 if it does not
//!   verify, and nothing changes), then handles the event: `payment.succeeded` makes the
//!   order `paid` and fulfils it (ships the goods: `fulfillments` counts it),
//!   `payment.failed`/`payment.canceled` make it `failed`, `refund.succeeded` adds to
//!   `amount_refunded` (`refunded` once it is all refunded). It answers 200 when handled and
//!   503 when it could not ask the gateway, so the gateway retries.
//! - `GET /orders/{order_id}` answers `{"order_id","status","fulfillments","amount_paid",
//!   "amount_refunded"}`, status one of `pending`, `paid`, `failed`, `refunded`.
//! - `POST /reconcile` runs one reconciliation pass now (404 with `--reconcile off`).
//!
//! Three bug flags, each correct by default ([`flags`]): `--webhook-dedupe off` handles
//! every delivery (a duplicate ships twice), `--event-order trust` applies events in arrival
//! order (a late one moves the order backwards), `--reconcile off` never lists
//! `GET /v1/events` (a dropped webhook leaves its order pending forever).

mod flags;
mod gateway;
mod handling;
mod orders;
mod reconcile;
pub mod signature;

use crate::http_service::{reply, serve};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use flags::{Dedupe, EventOrder, Reconcile};
pub use orders::{Order, OrderStatus};
pub use reconcile::ReconcileReport;

use gateway::{GatewayError, NativeGateway};
use handling::Shop;
use orders::OrderBook;

/// How long one reconciliation pass may take, from the endpoint or the background task.
const RECONCILE_BUDGET: Duration = Duration::from_secs(10);
/// Largest request body accepted (events are a few kilobytes).
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct WebhookMerchantConfig {
    pub listen: SocketAddr,
    /// Base URL of the payment gateway (gateway-sim).
    pub gateway_url: String,
    pub api_key: String,
    /// `whsec_...`: the key the gateway signs this endpoint's deliveries with.
    pub webhook_secret: String,
    pub dedupe: Dedupe,
    pub event_order: EventOrder,
    pub reconcile: Reconcile,
    /// Pause between background reconciliation passes (with `Reconcile::On`); `None`: only
    /// `POST /reconcile` runs one.
    pub reconcile_every: Option<Duration>,
    /// How long one gateway call may take.
    pub gateway_timeout: Duration,
    /// How old a webhook's signature may be.
    pub signature_tolerance: Duration,
}

impl Default for WebhookMerchantConfig {
    fn default() -> Self {
        WebhookMerchantConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            gateway_url: "http://127.0.0.1:4242".into(),
            api_key: "sk_test_reference_merchant".into(),
            webhook_secret: String::new(),
            dedupe: Dedupe::On,
            event_order: EventOrder::Current,
            reconcile: Reconcile::On,
            reconcile_every: Some(Duration::from_secs(30)),
            gateway_timeout: Duration::from_secs(1),
            signature_tolerance: signature::DEFAULT_TOLERANCE,
        }
    }
}

struct Service {
    shop: Shop,
    webhook_secret: String,
    reconcile: Reconcile,
    signature_tolerance: Duration,
}

/// A running webhook-mode merchant service. Dropping it stops the server and its
/// reconciliation task.
pub struct WebhookMerchant {
    addr: SocketAddr,
    service: Arc<Service>,
    server: JoinHandle<()>,
    reconciler: Option<JoinHandle<()>>,
}

impl WebhookMerchant {
    pub async fn start(config: WebhookMerchantConfig) -> std::io::Result<WebhookMerchant> {
        let listener = TcpListener::bind(config.listen).await?;
        Self::start_on(listener, config).await
    }

    /// Serves on a listener bound beforehand: the gateway must know the `/webhooks` URL
    /// before it starts, and the service the gateway's URL, so one side binds first.
    pub async fn start_on(
        listener: TcpListener,
        config: WebhookMerchantConfig,
    ) -> std::io::Result<WebhookMerchant> {
        let addr = listener.local_addr()?;
        let service = Arc::new(Service {
            shop: Shop {
                book: Mutex::new(OrderBook::default()),
                gateway: NativeGateway::new(
                    &config.gateway_url,
                    &config.api_key,
                    config.gateway_timeout,
                )?,
                dedupe: config.dedupe,
                event_order: config.event_order,
            },
            webhook_secret: config.webhook_secret,
            reconcile: config.reconcile,
            signature_tolerance: config.signature_tolerance,
        });
        let reconciler = match (config.reconcile, config.reconcile_every) {
            (Reconcile::On, Some(every)) => {
                let service = service.clone();
                Some(tokio::spawn(async move {
                    // Runs until the service is dropped; each pass is bounded by its budget.
                    loop {
                        tokio::time::sleep(every).await;
                        reconcile::reconcile(&service.shop, RECONCILE_BUDGET).await;
                    }
                }))
            }
            _ => None,
        };
        let server = tokio::spawn(serve(
            listener,
            service.clone(),
            |service, req| async move { route(&service, req).await },
        ));
        Ok(WebhookMerchant {
            addr,
            service,
            server,
            reconciler,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service's own record of an order.
    pub fn order(&self, order_id: &str) -> Option<Order> {
        self.service.shop.book.lock().get(order_id).cloned()
    }

    /// The service's own record of every order (a copy), sorted by order id.
    pub fn orders(&self) -> Vec<Order> {
        let mut orders: Vec<Order> = self.service.shop.book.lock().all().cloned().collect();
        orders.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        orders
    }

    /// Serves until the task is aborted (the binary's main loop).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }
}

impl Drop for WebhookMerchant {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(task) = &self.reconciler {
            task.abort();
        }
    }
}

fn order_json(order: &Order) -> serde_json::Value {
    serde_json::to_value(order).unwrap_or_default()
}

async fn route(service: &Service, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if parts.method == Method::GET
        && let Some(order_id) = path.strip_prefix("/orders/")
    {
        return match service.shop.book.lock().get(order_id) {
            Some(order) => reply(StatusCode::OK, order_json(order)),
            None => reply(StatusCode::NOT_FOUND, json!({"message": "no such order"})),
        };
    }
    if parts.method != Method::POST {
        return reply(StatusCode::NOT_FOUND, json!({"message": "not found"}));
    }
    match path.as_str() {
        "/orders" | "/webhooks" => {}
        "/reconcile" => return reconcile_now(service).await,
        _ => return reply(StatusCode::NOT_FOUND, json!({"message": "not found"})),
    }
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"message": "body too large"}),
        );
    };
    let body = body.to_bytes();
    if path == "/orders" {
        place_order(service, &body).await
    } else {
        let signature = parts
            .headers
            .get(signature::HEADER)
            .and_then(|v| v.to_str().ok());
        receive_webhook(service, signature, &body).await
    }
}

#[derive(Deserialize)]
struct OrderRequest {
    order_id: String,
    amount: i64,
    currency: String,
}

async fn place_order(service: &Service, body: &[u8]) -> Response<Full<Bytes>> {
    let order = match serde_json::from_slice::<OrderRequest>(body) {
        Ok(o) if o.amount > 0 && !o.order_id.is_empty() && !o.order_id.contains('/') => o,
        Ok(_) => {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"message": "order_id must be non-empty without '/', and amount positive"}),
            );
        }
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"message": format!("invalid request: {e}")}),
            );
        }
    };
    {
        let mut book = service.shop.book.lock();
        if !book.open(&order.order_id, order.amount, &order.currency) {
            // Asking again is allowed while the payment was never created (the gateway did
            // not answer): the same idempotency key makes it safe.
            let existing = book.get(&order.order_id).expect("the id is taken");
            if existing.status != OrderStatus::Pending || existing.payment_id.is_some() {
                return reply(
                    StatusCode::CONFLICT,
                    json!({"message": "order already placed", "order": order_json(existing)}),
                );
            }
        }
    }
    let paid = pay(&service.shop, &order).await;
    let mut book = service.shop.book.lock();
    match paid {
        Ok((status, payment)) => {
            if let Some(payment_id) = payment["id"].as_str() {
                book.link_payment(&order.order_id, payment_id);
            }
            let current = book.get(&order.order_id).expect("opened above");
            // The payment call's answer is not the verdict: only a webhook (or reconciliation)
            // moves the order, so the order is shown as it stands, usually still pending.
            reply(
                StatusCode::ACCEPTED,
                json!({"order": order_json(current), "gateway_status": status}),
            )
        }
        Err(e) => reply(
            StatusCode::BAD_GATEWAY,
            json!({"message": e.to_string(), "order": order_json(book.get(&order.order_id).expect("opened above"))}),
        ),
    }
}

/// Authorizes the order's amount, then captures it at once, as a shop that captures after
/// its fraud check does: two calls, so each payment raises two events (`payment.authorized`,
/// then `payment.succeeded`) and a late `authorized` can overtake the `succeeded`. Returns the
/// last answer: the capture's, or the authorization's when it was not `requires_capture`
/// (a decline, say).
async fn pay(shop: &Shop, order: &OrderRequest) -> Result<(u16, serde_json::Value), GatewayError> {
    let (status, authorization) = shop
        .gateway
        .authorize_payment(&order.order_id, order.amount, &order.currency)
        .await?;
    let payment_id = authorization["id"].as_str();
    match payment_id {
        Some(payment_id) if authorization["status"] == "requires_capture" => {
            shop.gateway
                .capture_payment(&order.order_id, payment_id)
                .await
        }
        _ => Ok((status, authorization)),
    }
}

async fn receive_webhook(
    service: &Service,
    signature: Option<&str>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    if let Err(e) = signature::verify(
        signature,
        body,
        &service.webhook_secret,
        service.signature_tolerance,
    ) {
        return reply(StatusCode::BAD_REQUEST, json!({"message": e.to_string()}));
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(body) else {
        return reply(StatusCode::BAD_REQUEST, json!({"message": "not JSON"}));
    };
    match service.shop.handle_delivery(&event).await {
        Ok(handled) => reply(
            StatusCode::OK,
            json!({"received": true, "handled": handled.as_str()}),
        ),
        // Not handled: a non-2xx makes the gateway deliver it again later.
        Err(e) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": e.to_string()}),
        ),
    }
}

async fn reconcile_now(service: &Service) -> Response<Full<Bytes>> {
    if service.reconcile == Reconcile::Off {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"message": "reconciliation is off (--reconcile off)"}),
        );
    }
    let report = reconcile::reconcile(&service.shop, RECONCILE_BUDGET).await;
    reply(
        StatusCode::OK,
        serde_json::to_value(report).unwrap_or_default(),
    )
}
