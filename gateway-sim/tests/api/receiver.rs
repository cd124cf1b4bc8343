//! A webhook receiver for tests: a real HTTP server on 127.0.0.1:0 that keeps
//! every delivery it gets (headers, raw body, arrival time) and answers with
//! whatever the test tells it to: a status per delivery number, or never.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::net::TcpListener;

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub json: Value,
    pub at: Instant,
}

impl Received {
    pub fn event_id(&self) -> &str {
        self.json["id"].as_str().unwrap_or_default()
    }

    pub fn event_type(&self) -> &str {
        self.json["type"].as_str().unwrap_or_default()
    }
}

/// How the receiver answers its `n`th delivery (0-based): a status, or `None` to hang.
pub type Answering = Arc<dyn Fn(usize) -> Option<u16> + Send + Sync>;

pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// A receiver that answers 200 to everything.
    pub async fn ok() -> Receiver {
        Receiver::answering(Arc::new(|_| Some(200))).await
    }

    pub async fn answering(answering: Answering) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("addr"));
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let kept = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let kept = kept.clone();
                let answering = answering.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let kept = kept.clone();
                        let answering = answering.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let n = {
                                let mut got = kept.lock();
                                got.push(Received {
                                    json: serde_json::from_slice(&body).unwrap_or(Value::Null),
                                    headers: parts.headers,
                                    body,
                                    at: Instant::now(),
                                });
                                got.len() - 1
                            };
                            match answering(n) {
                                Some(status) => {
                                    let mut r =
                                        http::Response::new(Full::new(Bytes::from_static(b"{}")));
                                    *r.status_mut() =
                                        http::StatusCode::from_u16(status).expect("status");
                                    Ok::<_, std::convert::Infallible>(r)
                                }
                                None => std::future::pending().await,
                            }
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Receiver { url, got }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().clone()
    }

    /// Waits (at most `limit`) until `done` holds of what was received; returns it either way.
    pub async fn wait_until(
        &self,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.received();
            if done(&got) || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Checks a `Stripe-Signature`-style header against `secret`, independently of
/// gateway-sim's own signing code: `t=<secs>,v1=<hex HMAC-SHA256("{t}.{body}")>`.
pub fn signature_is_valid(header: &str, body: &[u8], secret: &str) -> bool {
    use hmac::{Hmac, Mac};
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_string()),
            Some(("v1", value)) => v1.push(value.to_string()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let fresh = t
        .parse::<u64>()
        .ok()
        .and_then(|t| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            Some(now.abs_diff(t) <= 300)
        })
        .unwrap_or(false);
    fresh && v1.contains(&expected)
}
