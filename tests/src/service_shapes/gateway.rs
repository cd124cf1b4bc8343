//! The shape services' calls to gateway-sim's native API: one operation, retried with the
//! same idempotency key on anything that leaves the outcome unknown.

use std::time::Duration;

use serde_json::Value;

/// Attempts per operation: the first and three retries.
const ATTEMPTS: u32 = 4;

pub struct Gateway {
    http: reqwest::Client,
    base_url: String,
}

/// The gateway's last answer (status and body), or why there was none.
pub type Answer = Result<(u16, Value), String>;

impl Gateway {
    pub fn new(base_url: &str, timeout: Duration) -> std::io::Result<Gateway> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Gateway {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    /// `POST {path}` with `body` under `key`. A timeout, a reset, a 5xx or a 409 (the same key
    /// still in flight) is retried with the same key after a short backoff: the gateway
    /// replays a finished operation rather than repeating it.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Answer {
        let mut last = Err("not sent".to_string());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let sent = self
                .http
                .post(format!("{}{path}", self.base_url))
                .bearer_auth("sk_test_service_shapes")
                .header("Idempotency-Key", key)
                .json(body)
                .send()
                .await;
            last = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.json().await.unwrap_or(Value::Null);
                    Ok((status, body))
                }
                Err(e) => Err(e.to_string()),
            };
            match &last {
                Ok((status, _)) if *status < 500 && *status != 409 => return last,
                _ => {}
            }
        }
        last
    }
}
