//! A reference merchant payment service, shaped like the ones teams write: it
//! takes an order, charges it through the gateway, retries with backoff when
//! the gateway times out, resets or answers 5xx, and keeps one row per order.
//!
//! It comes in two builds of the same code, chosen by [`Idempotency`]:
//! - `Off` (the bug): every retry is a fresh request without an idempotency
//!   key. When the gateway charged but the answer was lost, the retry charges
//!   again: a double charge. Many real services ship exactly this.
//! - `On` (the fix): every attempt for one order carries the same key, and when
//!   the attempts run out the service asks the gateway what became of the key
//!   before it answers.

use crate::http_service::{reply, serve};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Whether the service sends idempotency keys (the fix) or not (the bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Idempotency {
    On,
    Off,
}

#[derive(Debug, Clone)]
pub struct MerchantConfig {
    pub listen: SocketAddr,
    /// Base URL of the payment gateway (gateway-sim).
    pub gateway_url: String,
    pub api_key: String,
    pub idempotency: Idempotency,
    /// Retries after the first attempt, on timeouts, resets and 5xx.
    pub max_retries: u32,
    /// First backoff; doubles at each retry.
    pub backoff: Duration,
    /// How long one gateway call may take before the service gives up on it.
    pub gateway_timeout: Duration,
}

impl Default for MerchantConfig {
    fn default() -> Self {
        MerchantConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            gateway_url: "http://127.0.0.1:4242".into(),
            api_key: "sk_test_reference_merchant".into(),
            idempotency: Idempotency::On,
            max_retries: 3,
            backoff: Duration::from_millis(100),
            gateway_timeout: Duration::from_secs(1),
        }
    }
}

/// One step in an order's history.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptLog {
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_status: Option<u16>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Processing,
    Paid,
    Declined,
    Failed,
    /// The service could not learn whether the charge went through.
    Unknown,
}

/// The service's own record of an order: one row per order id.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRow {
    pub order_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: OrderStatus,
    pub transaction_id: Option<String>,
    pub attempts: Vec<AttemptLog>,
}

#[derive(Deserialize)]
struct ProcessRequest {
    order_id: String,
    amount: i64,
    currency: String,
}

struct Service {
    config: MerchantConfig,
    http: reqwest::Client,
    orders: Mutex<HashMap<String, OrderRow>>,
}

/// A running merchant service. Dropping it stops the server.
pub struct MerchantService {
    addr: SocketAddr,
    service: Arc<Service>,
    task: JoinHandle<()>,
}

impl MerchantService {
    pub async fn start(config: MerchantConfig) -> std::io::Result<MerchantService> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(config.gateway_timeout)
            .pool_max_idle_per_host(512)
            .build()
            .map_err(std::io::Error::other)?;
        let service = Arc::new(Service {
            config,
            http,
            orders: Mutex::new(HashMap::new()),
        });
        let task = tokio::spawn(serve(
            listener,
            service.clone(),
            |service, req| async move { handle(&service, req).await },
        ));
        Ok(MerchantService {
            addr,
            service,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service's own record of an order.
    pub fn order(&self, order_id: &str) -> Option<OrderRow> {
        self.service.orders.lock().get(order_id).cloned()
    }

    pub fn orders(&self) -> Vec<OrderRow> {
        self.service.orders.lock().values().cloned().collect()
    }

    /// Serves until the task is aborted (the binary's main loop).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for MerchantService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(service: &Service, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    match (&parts.method, path.as_str()) {
        (&Method::POST, "/payments/process") => {
            let Ok(body) = Limited::new(body, 64 * 1024).collect().await else {
                return reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"message": "body too large"}),
                );
            };
            match serde_json::from_slice::<ProcessRequest>(&body.to_bytes()) {
                Ok(order) if order.amount > 0 && !order.order_id.is_empty() => {
                    service.process(order).await
                }
                Ok(_) => reply(
                    StatusCode::BAD_REQUEST,
                    json!({"message": "order_id must be non-empty and amount positive"}),
                ),
                Err(e) => reply(
                    StatusCode::BAD_REQUEST,
                    json!({"message": format!("invalid request: {e}")}),
                ),
            }
        }
        (&Method::GET, p) if p.starts_with("/payments/") => {
            let order_id = &p["/payments/".len()..];
            match service.orders.lock().get(order_id) {
                Some(row) => reply(
                    StatusCode::OK,
                    serde_json::to_value(row).unwrap_or_default(),
                ),
                None => reply(StatusCode::NOT_FOUND, json!({"message": "no such order"})),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, json!({"message": "not found"})),
    }
}

/// What one gateway call came to, from the service's side.
enum Attempt {
    Charged(String),
    Declined(String),
    /// The gateway refused the request and moved no money (4xx other than a decline).
    Refused(String),
    /// Timeout, reset or 5xx: the charge may or may not have happened.
    Ambiguous(String),
}

impl Service {
    async fn process(&self, order: ProcessRequest) -> Response<Full<Bytes>> {
        // Claim the order's row: one payment per order, ever.
        {
            let mut orders = self.orders.lock();
            if let Some(row) = orders.get(&order.order_id) {
                let (status, message) = match row.status {
                    OrderStatus::Paid => (StatusCode::CONFLICT, "Order already paid"),
                    OrderStatus::Processing => {
                        (StatusCode::CONFLICT, "Payment already in progress")
                    }
                    _ => (StatusCode::CONFLICT, "Order already attempted"),
                };
                return reply(
                    status,
                    json!({"message": message, "transaction_id": row.transaction_id}),
                );
            }
            orders.insert(
                order.order_id.clone(),
                OrderRow {
                    order_id: order.order_id.clone(),
                    amount: order.amount,
                    currency: order.currency.clone(),
                    status: OrderStatus::Processing,
                    transaction_id: None,
                    attempts: vec![AttemptLog {
                        event: "initiated".into(),
                        idempotency_key: None,
                        gateway_status: None,
                        detail: format!("{} {}", order.amount, order.currency),
                    }],
                },
            );
        }

        let key = (self.config.idempotency == Idempotency::On)
            .then(|| format!("merchant-order-{}", order.order_id));
        let mut last = String::new();
        for attempt in 0..=self.config.max_retries {
            if attempt > 0 {
                tokio::time::sleep(self.config.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
            let (status, outcome) = self.charge(&order, key.as_deref()).await;
            let event = if attempt == 0 {
                "attempt".to_string()
            } else {
                format!("retry {attempt}")
            };
            match outcome {
                Attempt::Charged(id) => {
                    self.log(
                        &order.order_id,
                        event,
                        key.as_deref(),
                        status,
                        format!("charged {id}"),
                    );
                    return self.finish(&order.order_id, OrderStatus::Paid, Some(id));
                }
                Attempt::Declined(code) => {
                    self.log(
                        &order.order_id,
                        event,
                        key.as_deref(),
                        status,
                        format!("declined: {code}"),
                    );
                    return self.finish(&order.order_id, OrderStatus::Declined, None);
                }
                Attempt::Refused(why) => {
                    self.log(
                        &order.order_id,
                        event,
                        key.as_deref(),
                        status,
                        format!("refused: {why}"),
                    );
                    return self.finish(&order.order_id, OrderStatus::Failed, None);
                }
                Attempt::Ambiguous(why) => {
                    self.log(
                        &order.order_id,
                        event,
                        key.as_deref(),
                        status,
                        format!("no clear answer: {why}"),
                    );
                    last = why;
                }
            }
        }

        // Out of attempts. The fixed service asks the gateway before it answers.
        if let Some(key) = key {
            for _ in 0..10 {
                match self.lookup(&key).await {
                    Lookup::Charged(id) => {
                        self.log(
                            &order.order_id,
                            "lookup".into(),
                            Some(&key),
                            Some(200),
                            format!("charged {id}"),
                        );
                        return self.finish(&order.order_id, OrderStatus::Paid, Some(id));
                    }
                    Lookup::Declined(code) => {
                        self.log(
                            &order.order_id,
                            "lookup".into(),
                            Some(&key),
                            Some(200),
                            format!("declined: {code}"),
                        );
                        return self.finish(&order.order_id, OrderStatus::Declined, None);
                    }
                    Lookup::NeverHappened => {
                        self.log(
                            &order.order_id,
                            "lookup".into(),
                            Some(&key),
                            Some(404),
                            "nothing charged".into(),
                        );
                        return self.finish(&order.order_id, OrderStatus::Failed, None);
                    }
                    Lookup::Pending(why) => {
                        last = why;
                        tokio::time::sleep(self.config.backoff).await;
                    }
                }
            }
            self.log(&order.order_id, "gave up".into(), Some(&key), None, last);
            return self.finish(&order.order_id, OrderStatus::Unknown, None);
        }
        self.log(&order.order_id, "gave up".into(), None, None, last);
        self.finish(&order.order_id, OrderStatus::Failed, None)
    }

    async fn charge(&self, order: &ProcessRequest, key: Option<&str>) -> (Option<u16>, Attempt) {
        let mut req = self
            .http
            .post(format!("{}/v1/payments", self.config.gateway_url))
            .bearer_auth(&self.config.api_key)
            .json(&json!({
                "amount": order.amount,
                "currency": order.currency,
                "payment_method": "pm_card_visa",
                "reference": order.order_id,
            }));
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => return (None, Attempt::Ambiguous(describe(&e))),
        };
        let status = response.status();
        let body: serde_json::Value = match response.json().await {
            Ok(v) => v,
            Err(e) => return (Some(status.as_u16()), Attempt::Ambiguous(describe(&e))),
        };
        let outcome = read_gateway_answer(status.as_u16(), &body);
        (Some(status.as_u16()), outcome)
    }

    async fn lookup(&self, key: &str) -> Lookup {
        let url = format!("{}/v1/idempotency-keys/{key}", self.config.gateway_url);
        let response = match self
            .http
            .get(url)
            .bearer_auth(&self.config.api_key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Lookup::Pending(describe(&e)),
        };
        if response.status() == StatusCode::NOT_FOUND {
            return Lookup::NeverHappened;
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            return Lookup::Pending("unreadable lookup answer".into());
        };
        if body["status"] != "completed" {
            return Lookup::Pending("the first attempt is still in flight".into());
        }
        let stored = &body["response"];
        match read_gateway_answer(
            stored["status"].as_u64().unwrap_or(0) as u16,
            &stored["body"],
        ) {
            Attempt::Charged(id) => Lookup::Charged(id),
            Attempt::Declined(code) => Lookup::Declined(code),
            Attempt::Refused(_) | Attempt::Ambiguous(_) => Lookup::NeverHappened,
        }
    }

    fn log(
        &self,
        order_id: &str,
        event: String,
        key: Option<&str>,
        status: Option<u16>,
        detail: String,
    ) {
        if let Some(row) = self.orders.lock().get_mut(order_id) {
            row.attempts.push(AttemptLog {
                event,
                idempotency_key: key.map(str::to_string),
                gateway_status: status,
                detail,
            });
        }
    }

    fn finish(
        &self,
        order_id: &str,
        status: OrderStatus,
        transaction_id: Option<String>,
    ) -> Response<Full<Bytes>> {
        if let Some(row) = self.orders.lock().get_mut(order_id) {
            row.status = status;
            row.transaction_id = transaction_id.clone();
        }
        match status {
            OrderStatus::Paid => reply(
                StatusCode::OK,
                json!({"message": "Payment processed successfully", "transaction_id": transaction_id}),
            ),
            OrderStatus::Declined => reply(
                StatusCode::PAYMENT_REQUIRED,
                json!({"message": "Payment declined"}),
            ),
            OrderStatus::Failed => reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"message": "Payment failed: the gateway did not take the payment"}),
            ),
            OrderStatus::Unknown | OrderStatus::Processing => reply(
                StatusCode::GATEWAY_TIMEOUT,
                json!({"message": "Payment outcome unknown: the gateway did not answer in time"}),
            ),
        }
    }
}

enum Lookup {
    Charged(String),
    Declined(String),
    NeverHappened,
    Pending(String),
}

fn read_gateway_answer(status: u16, body: &serde_json::Value) -> Attempt {
    match status {
        200 => match body["id"].as_str() {
            Some(id) => Attempt::Charged(id.to_string()),
            None => Attempt::Ambiguous("200 without a payment id".into()),
        },
        402 => Attempt::Declined(
            body["error"]["decline_code"]
                .as_str()
                .unwrap_or("declined")
                .to_string(),
        ),
        // 409 in use: the first attempt is still running; 429: not processed, try later.
        409 | 429 => Attempt::Ambiguous(
            body["error"]["code"]
                .as_str()
                .unwrap_or("conflict")
                .to_string(),
        ),
        s if s >= 500 => Attempt::Ambiguous(format!("gateway answered {s}")),
        s => Attempt::Refused(format!(
            "{s} {}",
            body["error"]["message"].as_str().unwrap_or("refused")
        )),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        "connection reset or closed".into()
    }
}
