//! The calls webhook mode makes to the gateway's native API: authorize and capture a
//! payment for an order, read a payment's current state, and page through the merchant's events.

use std::time::Duration;

use serde_json::{Value, json};

/// Events per page when reconciling (the most `GET /v1/events` gives).
const EVENTS_PAGE: usize = 100;

pub struct NativeGateway {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
}

/// What a gateway call came to when it did not give a usable answer.
#[derive(Debug)]
pub struct GatewayError(pub String);

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of `GET /v1/events`, newest first.
pub struct EventsPage {
    pub events: Vec<Value>,
    pub has_more: bool,
}

impl NativeGateway {
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> std::io::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(NativeGateway {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
        })
    }

    /// `POST /v1/payments` without capture (an authorization), with the order id as
    /// `reference` and one idempotency key per order, so asking again for the same order never
    /// authorizes twice. Returns the gateway's status and body (a decline is a 402 with a
    /// payment in it).
    pub async fn authorize_payment(
        &self,
        order_id: &str,
        amount: i64,
        currency: &str,
    ) -> Result<(u16, Value), GatewayError> {
        let response = self
            .http
            .post(format!("{}/v1/payments", self.base_url))
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", format!("webhook-order-{order_id}"))
            .json(&json!({
                "amount": amount,
                "currency": currency,
                "payment_method": "pm_card_visa",
                "capture": false,
                "reference": order_id,
            }))
            .send()
            .await
            .map_err(|e| GatewayError(format!("create payment: {e}")))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or_default();
        Ok((status, body))
    }

    /// `POST /v1/payments/{id}/capture` of the whole authorization, with its own idempotency
    /// key per order, so a capture asked again never captures twice.
    pub async fn capture_payment(
        &self,
        order_id: &str,
        payment_id: &str,
    ) -> Result<(u16, Value), GatewayError> {
        let response = self
            .http
            .post(format!(
                "{}/v1/payments/{payment_id}/capture",
                self.base_url
            ))
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", format!("webhook-capture-{order_id}"))
            .json(&json!({}))
            .send()
            .await
            .map_err(|e| GatewayError(format!("capture payment: {e}")))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or_default();
        Ok((status, body))
    }

    /// `GET /v1/payments/{id}`: the payment as it is now.
    pub async fn payment(&self, payment_id: &str) -> Result<Value, GatewayError> {
        self.get_json(&format!("/v1/payments/{payment_id}")).await
    }

    /// One page of the merchant's events, newest first, after `starting_after` if given.
    pub async fn events(&self, starting_after: Option<&str>) -> Result<EventsPage, GatewayError> {
        let mut path = format!("/v1/events?limit={EVENTS_PAGE}");
        if let Some(id) = starting_after {
            path.push_str(&format!("&starting_after={id}"));
        }
        let body = self.get_json(&path).await?;
        Ok(EventsPage {
            events: body["data"].as_array().cloned().unwrap_or_default(),
            has_more: body["has_more"].as_bool().unwrap_or(false),
        })
    }

    async fn get_json(&self, path: &str) -> Result<Value, GatewayError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(|e| GatewayError(format!("GET {path}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(GatewayError(format!(
                "GET {path}: gateway answered {status}"
            )));
        }
        response
            .json()
            .await
            .map_err(|e| GatewayError(format!("GET {path}: unreadable answer: {e}")))
    }
}
