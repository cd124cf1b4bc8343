//! `spawn_app()` and a thin JSON client, so tests read as Arrange / Act / Assert.

use gateway_sim::{BehaviourConfig, GatewaySim, SimConfig};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct TestApp {
    pub sim: GatewaySim,
    pub client: reqwest::Client,
    /// The API key requests are sent with: it names the merchant account.
    pub api_key: String,
}

/// The answer to one request: status, headers, raw body and the body as JSON.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub raw: bytes::Bytes,
    pub json: Value,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(SimConfig::default()).await
}

pub async fn spawn_app_with_behaviour(toml_gateway_table: &str) -> TestApp {
    let behaviour =
        gateway_sim::parse_scenario_gateway(toml_gateway_table).expect("test scenario is valid");
    spawn_app_with(SimConfig {
        behaviour,
        seed: 7,
        ..SimConfig::default()
    })
    .await
}

pub async fn spawn_app_with(config: SimConfig) -> TestApp {
    let sim = GatewaySim::start(config)
        .await
        .expect("simulator starts on a free port");
    TestApp {
        sim,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client builds"),
        api_key: "sk_test_merchant_a".to_string(),
    }
}

#[allow(dead_code)]
pub fn default_behaviour() -> BehaviourConfig {
    BehaviourConfig::default()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.url(), path)
    }

    /// The same simulator, seen by another merchant.
    pub fn as_merchant(&self, api_key: &str) -> Merchant<'_> {
        Merchant {
            app: self,
            api_key: api_key.to_string(),
        }
    }

    pub async fn post(&self, path: &str, body: Value, idempotency_key: Option<&str>) -> Answer {
        self.as_merchant(&self.api_key)
            .post(path, body, idempotency_key)
            .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.as_merchant(&self.api_key).get(path).await
    }

    /// Authorizes (capture: false) or charges `amount` for `reference`, expecting success.
    pub async fn create_payment(&self, amount: i64, capture: bool, reference: &str) -> Value {
        let answer = self
            .post(
                "/v1/payments",
                serde_json::json!({"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "capture": capture, "reference": reference}),
                None,
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "create failed: {}",
            answer.json
        );
        answer.json
    }
}

pub struct Merchant<'a> {
    app: &'a TestApp,
    api_key: String,
}

impl Merchant<'_> {
    pub async fn post(&self, path: &str, body: Value, idempotency_key: Option<&str>) -> Answer {
        let mut req = self
            .app
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.api_key)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).expect("json"));
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        answer(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        let req = self
            .app
            .client
            .get(self.app.url(path))
            .bearer_auth(&self.api_key);
        answer(req.send().await.expect("request sent")).await
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.bytes().await.expect("body read");
    let json = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        raw,
        json,
    }
}

/// Every error answer has the documented shape.
pub fn assert_error_shape(a: &Answer) {
    let e = &a.json["error"];
    assert!(
        e.is_object(),
        "not an error envelope: {}",
        String::from_utf8_lossy(&a.raw)
    );
    for field in ["type", "code", "message"] {
        assert!(e[field].is_string(), "error without {field}: {}", a.json);
    }
    assert!(e.get("param").is_some(), "error without param: {}", a.json);
    assert_eq!(
        a.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}
