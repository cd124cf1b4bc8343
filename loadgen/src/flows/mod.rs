//! The client side of a run: what each user does with each order, and the only
//! place that knows goose.
//!
//! A user loops: claim order `n` from the shared [`Schedule`], sleep until it is
//! due, build its [`OrderPlan`] (amount, merchant, flow: all drawn from the seed
//! and `n`, so a run is reproducible), play the flow's HTTP requests through a
//! [`Transport`], record every request's latency and push one [`OrderOutcome`].
//!
//! Flows speak to a [`Transport`], not to goose, so their logic is tested with
//! scripted answers ([`native`], [`service`]). [`GooseTransport`] sends through
//! goose's `GooseUser` request API, so goose's own report sees every request;
//! [`run_attack`] builds the goose configuration in code and runs all users in
//! one goose scenario whose single transaction loops over orders until the
//! schedule is exhausted (`iterations = 1`: the run ends exactly when the last
//! order finishes).

pub mod native;
pub mod service;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::latency::LatencyRecorder;
use crate::outcomes::{Attempt, ClientResult, OrderOutcome, OutcomeLog};
use crate::pacing::{Claim, Schedule};
use crate::scenario::{FlowKind, LoadPlan, TargetTemplate};

/// Draw salts: one per independent random choice, so changing how one choice is
/// drawn never shifts another.
pub(crate) mod salt {
    pub const FLOW: u64 = 0x9e37_79b9_0000_0001;
    pub const AMOUNT: u64 = 0x9e37_79b9_0000_0002;
    pub const MERCHANT: u64 = 0x9e37_79b9_0000_0003;
    pub const PARTIAL: u64 = 0x9e37_79b9_0000_0004;
    pub const PARTIAL_AMOUNT: u64 = 0x9e37_79b9_0000_0005;
}

/// A uniformly distributed 64-bit number fixed by `(seed, n, salt)`: splitmix64
/// over the three. Stable across versions of any crate, unlike a library RNG.
pub fn draw(seed: u64, n: u64, salt: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0xbf58_476d_1ce4_e5b9)
        .wrapping_add(n.wrapping_mul(0x94d0_49bb_1331_11eb))
        .wrapping_add(salt)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw from `lo..=hi` (requires `lo <= hi`).
fn draw_between(seed: u64, n: u64, salt: u64, lo: i64, hi: i64) -> i64 {
    let span = hi.abs_diff(lo).saturating_add(1);
    let offset = draw(seed, n, salt) % span;
    lo.saturating_add_unsigned(offset)
}

/// How order ids are made. Every id comes from [`OrderIds::order_id`], so order
/// ids stay unique across `--worker` runs by this one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIds {
    seed: u64,
    /// Empty for an embedded gateway (a fresh ledger: ids repeat run to run, on
    /// purpose); a per-run tag against a long-running gateway, whose idempotency
    /// keys would otherwise replay the previous run's answers.
    run_tag: String,
    /// `w<I>of<N>` for a worker's share: its orders' run-wide numbers are already
    /// disjoint from the other workers', and the id says which worker sent it even
    /// when two workers were started in the same millisecond with the same tag.
    worker: Option<String>,
}

impl OrderIds {
    pub fn new(seed: u64, run_tag: impl Into<String>) -> Self {
        Self {
            seed,
            run_tag: run_tag.into(),
            worker: None,
        }
    }

    /// The ids of `worker`'s orders (`ord-<seed>[-<tag>]-w<I>of<N>-<n>`).
    pub fn for_worker(mut self, worker: crate::pacing::WorkerShare) -> Self {
        self.worker = Some(format!("w{}of{}", worker.index(), worker.count()));
        self
    }

    /// A tag for this moment, for runs against a gateway that outlives them.
    pub fn fresh_tag() -> String {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("{ms:x}")
    }

    /// `ord-<seed>-<n>`, `ord-<seed>-<tag>-<n>`, with `-w<I>of<N>` before `-<n>` for a
    /// worker: also the gateway `reference`. `n` is the run-wide order number, last,
    /// so the same order of a one-machine run and of a worker's share reads alike.
    pub fn order_id(&self, n: u64) -> String {
        let mut id = format!("ord-{}", self.seed);
        for part in [Some(self.run_tag.as_str()), self.worker.as_deref()]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
        {
            id.push('-');
            id.push_str(part);
        }
        id.push('-');
        id.push_str(&n.to_string());
        id
    }
}

/// The API key of merchant `m`.
pub fn merchant_key(m: u32) -> String {
    format!("sk_test_loadgen_{m}")
}

/// Everything decided about one order before any request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    pub n: u64,
    pub seed: u64,
    pub order_id: String,
    /// The merchant's API key.
    pub merchant: String,
    pub amount: i64,
    pub currency: String,
    pub flow: FlowKind,
}

impl OrderPlan {
    /// The plan of order `n`; the same `(plan.seed, n)` always gives the same order.
    pub fn new(load: &LoadPlan, ids: &OrderIds, n: u64) -> Self {
        let seed = load.seed;
        let flow = load
            .mix
            .pick(draw(seed, n, salt::FLOW))
            .unwrap_or(FlowKind::Purchase);
        let amount = draw_between(seed, n, salt::AMOUNT, load.amount_min, load.amount_max);
        let merchant = (draw(seed, n, salt::MERCHANT) % u64::from(load.merchants.max(1))) as u32;
        Self {
            n,
            seed,
            order_id: ids.order_id(n),
            merchant: merchant_key(merchant),
            amount,
            currency: load.currency.clone(),
            flow,
        }
    }

    /// `Some(part)` for the orders (one in `one_in`) whose capture or refund
    /// covers only part of the amount; `part` is in `1..amount`.
    pub fn partial_amount(&self, one_in: u64) -> Option<i64> {
        if self.amount < 2 || !draw(self.seed, self.n, salt::PARTIAL).is_multiple_of(one_in.max(1))
        {
            return None;
        }
        Some(draw_between(
            self.seed,
            self.n,
            salt::PARTIAL_AMOUNT,
            1,
            self.amount - 1,
        ))
    }

    /// The idempotency key of this order's `i`-th create attempt with a key of its own.
    pub fn create_key(&self, i: u32) -> String {
        format!("{}-k{i}", self.order_id)
    }

    /// The idempotency key of a follow-up step (capture, cancel, refund).
    pub fn step_key(&self, step: &str) -> String {
        format!("{}-{step}", self.order_id)
    }
}

/// HTTP methods the flows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn parse(upper: &str) -> Option<Self> {
        match upper {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "PATCH" => Some(Self::Patch),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    fn goose(self) -> GooseMethod {
        match self {
            Self::Get => GooseMethod::Get,
            Self::Post => GooseMethod::Post,
            Self::Put => GooseMethod::Put,
            Self::Patch => GooseMethod::Patch,
            Self::Delete => GooseMethod::Delete,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One request a flow wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// create | capture | cancel | refund | lookup | service: names the request
    /// in goose's report and in the latency table.
    pub step: &'static str,
    pub method: HttpMethod,
    /// Path (and query) joined to the host.
    pub path: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub bearer: Option<String>,
    pub idempotency_key: Option<String>,
    /// A JSON body, sent with `Content-Type: application/json` unless `headers` name one.
    pub body: Option<String>,
    /// Extra headers (`--service` templates).
    pub headers: Vec<(String, String)>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The gateway said `Idempotent-Replayed: true`.
    pub replayed: bool,
    pub body: Vec<u8>,
}

/// Why no answer came back: the client does not know what the server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    Timeout,
    /// Refused, reset or closed before a whole answer arrived.
    Connection(String),
    Other(String),
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::Connection(m) => write!(f, "connection: {m}"),
            Self::Other(m) => write!(f, "request failed: {m}"),
        }
    }
}

/// One request and its answer, timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub sent: Instant,
    pub done: Instant,
    pub answer: Result<Answer, TransportFailure>,
}

/// Sends requests for flows. Implemented over goose ([`GooseTransport`]) for
/// runs, and by scripted fakes in tests.
pub trait Transport: Send {
    fn send(&mut self, request: &ApiRequest) -> impl Future<Output = Exchange> + Send;

    /// Sends both at once (the double click): neither waits for the other's answer.
    fn send_pair(
        &mut self,
        first: &ApiRequest,
        second: &ApiRequest,
    ) -> impl Future<Output = (Exchange, Exchange)> + Send;

    /// Whether the run was cancelled (Ctrl-C) and no new order should start.
    fn cancelled(&self) -> bool {
        false
    }
}

/// The timing of one request, for the latency recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTiming {
    pub step: &'static str,
    /// When the flow wanted it sent: the due time for an order's first request,
    /// the send time for follow-ups (nothing held them back).
    pub intended: Instant,
    pub sent: Instant,
    pub done: Instant,
    /// False for timeouts, dropped connections, 5xx, 429 and unexpected 4xx.
    pub ok: bool,
}

/// What one order produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRun {
    pub outcome: OrderOutcome,
    pub timings: Vec<StepTiming>,
}

/// The fields of a gateway answer the flows read; everything else in the body
/// is skipped without being stored (parsing a whole payment into a
/// `serde_json::Value` costs a score of allocations per request).
///
/// One shape covers a payment (`object: "payment"`, `id`, `status`), a refund
/// (`object: "refund"`, `payment_id`), an error (`error`), and an
/// idempotency-key lookup (`status: "completed"`, `response`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Brief {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub object: Option<String>,
    /// A payment's status, or an idempotency key's (`in_flight`, `completed`).
    #[serde(default)]
    pub status: Option<String>,
    /// A refund's payment.
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub error: Option<BriefError>,
    /// The answer stored under an idempotency key.
    #[serde(default)]
    pub response: Option<StoredResponse>,
}

/// The `error` object of an error answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct BriefError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub payment_id: Option<String>,
}

/// An answer stored under an idempotency key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StoredResponse {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: Option<Box<Brief>>,
}

impl Brief {
    /// The payment id this answer names: a payment's `id`, a refund's
    /// `payment_id`, or that of the answer stored under an idempotency key.
    pub fn payment_id(&self) -> Option<&str> {
        match self.object.as_deref() {
            Some("payment") => self.id.as_deref(),
            Some("refund") => self.payment_id.as_deref(),
            _ => match self.response.as_ref().and_then(|r| r.body.as_deref()) {
                Some(stored) => stored
                    .payment_id()
                    .or_else(|| stored.error.as_ref()?.payment_id.as_deref()),
                None => None,
            },
        }
    }

    fn error_code(&self) -> Option<&str> {
        self.error.as_ref()?.code.as_deref()
    }
}

/// A gateway answer, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 2xx with a JSON body.
    Ok(Brief),
    /// 402: the card was declined; no money moved.
    Declined {
        payment_id: Option<String>,
        code: Option<String>,
    },
    /// 409 `idempotency_key_in_use`: the same key is still running elsewhere.
    InUse,
    /// 404.
    NotFound,
    /// Any other 4xx, or a 429: the gateway refused, no money moved.
    Rejected { status: u16, code: Option<String> },
    /// Timeout, dropped connection, 5xx or an unreadable 2xx: nobody knows.
    Ambiguous(String),
}

impl Reply {
    /// Whether this answer settles the question "did it happen?".
    pub fn is_definitive(&self) -> bool {
        matches!(
            self,
            Reply::Ok(_) | Reply::Declined { .. } | Reply::Rejected { .. }
        )
    }
}

/// Reads an exchange into a [`Reply`], plus the payment id it names (for the outcome).
pub fn read_reply(
    answer: &Result<Answer, TransportFailure>,
) -> (Reply, Option<u16>, Option<String>) {
    let answer = match answer {
        Ok(a) => a,
        Err(failure) => return (Reply::Ambiguous(failure.to_string()), None, None),
    };
    let status = answer.status;
    let brief: Option<Brief> = serde_json::from_slice(&answer.body).ok();
    let code = || {
        brief
            .as_ref()
            .and_then(|b| b.error_code())
            .map(str::to_owned)
    };
    let reply = match status {
        200..=299 => match &brief {
            Some(b) => Reply::Ok(b.clone()),
            None => Reply::Ambiguous(format!("HTTP {status} with an unreadable body")),
        },
        402 => {
            let error = brief.as_ref().and_then(|b| b.error.as_ref());
            Reply::Declined {
                payment_id: error.and_then(|e| e.payment_id.clone()),
                code: error.and_then(|e| e.decline_code.clone().or_else(|| e.code.clone())),
            }
        }
        404 => Reply::NotFound,
        409 if code().as_deref() == Some("idempotency_key_in_use") => Reply::InUse,
        400..=499 => Reply::Rejected {
            status,
            code: code(),
        },
        _ => Reply::Ambiguous(format!(
            "HTTP {status}{}",
            code().map(|c| format!(" {c}")).unwrap_or_default()
        )),
    };
    let payment_id = match &reply {
        Reply::Ok(b) => b.payment_id().map(str::to_owned),
        Reply::Declined { payment_id, .. } => payment_id.clone(),
        _ => None,
    };
    (reply, Some(status), payment_id)
}

/// One order being played: collects attempts and timings as requests go out.
pub struct Session<'t, T: Transport> {
    transport: &'t mut T,
    plan: &'t OrderPlan,
    attempts: Vec<Attempt>,
    timings: Vec<StepTiming>,
    /// When the next request is meant to go: the due time, until the first one is sent.
    next_intended: Option<Instant>,
}

impl<'t, T: Transport> Session<'t, T> {
    pub fn new(transport: &'t mut T, plan: &'t OrderPlan, due: Instant) -> Self {
        Self {
            transport,
            plan,
            attempts: Vec::with_capacity(2),
            timings: Vec::with_capacity(2),
            next_intended: Some(due),
        }
    }

    pub fn plan(&self) -> &OrderPlan {
        self.plan
    }

    fn intended(&mut self, sent: Instant) -> Instant {
        self.next_intended.take().unwrap_or(sent).min(sent)
    }

    fn note(&mut self, request: &ApiRequest, exchange: &Exchange, intended: Instant) -> Reply {
        let (reply, status, payment_id) = read_reply(&exchange.answer);
        let ok = matches!(
            reply,
            Reply::Ok(_) | Reply::Declined { .. } | Reply::InUse | Reply::NotFound
        );
        let error = match &reply {
            Reply::Ok(_) => None,
            Reply::Declined { code, .. } => Some(format!(
                "declined{}",
                code.as_deref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            )),
            Reply::InUse => Some("idempotency_key_in_use".to_string()),
            Reply::NotFound => Some("not found".to_string()),
            Reply::Rejected { status, code } => Some(format!(
                "HTTP {status}{}",
                code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
            )),
            Reply::Ambiguous(why) => Some(why.clone()),
        };
        let latency = exchange.done.saturating_duration_since(intended);
        self.attempts.push(Attempt {
            step: request.step.to_string(),
            idempotency_key: request.idempotency_key.clone(),
            status,
            payment_id,
            error,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        });
        self.timings.push(StepTiming {
            step: request.step,
            intended,
            sent: exchange.sent,
            done: exchange.done,
            ok,
        });
        reply
    }

    /// Sends one request and records it.
    pub async fn call(&mut self, request: ApiRequest) -> Reply {
        let exchange = self.transport.send(&request).await;
        let intended = self.intended(exchange.sent);
        self.note(&request, &exchange, intended)
    }

    /// Sends two requests at once and records both.
    pub async fn call_pair(&mut self, first: ApiRequest, second: ApiRequest) -> (Reply, Reply) {
        let (a, b) = self.transport.send_pair(&first, &second).await;
        let intended = self.intended(a.sent.min(b.sent));
        let ra = self.note(&first, &a, intended);
        let rb = self.note(&second, &b, intended);
        (ra, rb)
    }

    /// Closes the order with what the client concluded.
    pub fn finish(
        self,
        flow: &str,
        merchant: String,
        result: ClientResult,
        expected_capture: i64,
        expected_refund: i64,
    ) -> FlowRun {
        FlowRun {
            outcome: OrderOutcome {
                order_id: self.plan.order_id.clone(),
                flow: flow.to_string(),
                merchant,
                amount: self.plan.amount,
                currency: self.plan.currency.clone(),
                expected_capture,
                expected_refund,
                result,
                attempts: self.attempts,
            },
            timings: self.timings,
        }
    }
}

/// Which API the users drive.
#[derive(Debug, Clone)]
pub enum FlowMode {
    /// gateway-sim's native API, playing the `[load.mix]` flows.
    Native,
    /// A merchant's own service, one templated request per order.
    Service(Arc<TargetTemplate>),
}

/// Plays order `plan`, due at `due`, through `transport`.
pub async fn play_order<T: Transport>(
    transport: &mut T,
    mode: &FlowMode,
    plan: &OrderPlan,
    due: Instant,
) -> FlowRun {
    match mode {
        FlowMode::Native => native::play(transport, plan, due).await,
        FlowMode::Service(template) => service::play(transport, template, plan, due).await,
    }
}

/// Running totals, cheap to read once a second for the progress line.
#[derive(Debug, Default)]
pub struct DriveCounters {
    /// Orders whose first request went out (their due time came).
    pub orders_started: AtomicU64,
    pub orders_done: AtomicU64,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
}

/// Everything the users of one run share.
pub struct Driver {
    pub load: LoadPlan,
    pub ids: OrderIds,
    pub mode: FlowMode,
    pub schedule: Arc<Schedule>,
    pub outcomes: OutcomeLog,
    /// Created when the schedule starts, so its second 0 is the run's `t0`.
    latency: OnceLock<LatencyRecorder>,
    pub counters: DriveCounters,
    /// How long the first user waits for the others before the schedule starts anyway.
    pub start_patience: Duration,
}

impl Driver {
    pub fn new(
        load: LoadPlan,
        ids: OrderIds,
        mode: FlowMode,
        schedule: Arc<Schedule>,
        outcomes: OutcomeLog,
    ) -> Self {
        Self {
            load,
            ids,
            mode,
            schedule,
            outcomes,
            latency: OnceLock::new(),
            counters: DriveCounters::default(),
            start_patience: Duration::from_secs(5),
        }
    }

    /// The latency recorder, once the schedule has started.
    pub fn latency(&self) -> Option<&LatencyRecorder> {
        self.latency.get()
    }

    /// The latency recorder, starting it at `t0` if nobody has yet.
    pub fn latency_from(&self, t0: Instant) -> &LatencyRecorder {
        self.latency.get_or_init(|| LatencyRecorder::with_start(t0))
    }

    /// Records one finished order.
    pub fn record(&self, run: FlowRun) {
        let t0 = self
            .schedule
            .started_at()
            .map(|t| t.into_std())
            .unwrap_or_else(Instant::now);
        let latency = self.latency_from(t0);
        let mut errors = 0;
        for t in &run.timings {
            latency.record(t.step, t.intended, t.sent, t.done, t.ok);
            if !t.ok {
                errors += 1;
            }
        }
        self.counters
            .requests
            .fetch_add(run.timings.len() as u64, Ordering::Relaxed);
        self.counters.errors.fetch_add(errors, Ordering::Relaxed);
        self.outcomes.push(run.outcome);
        self.counters.orders_done.fetch_add(1, Ordering::Relaxed);
    }
}

/// One user's whole life: report for work, then claim and play orders until the
/// schedule says done.
pub async fn drive_user<T: Transport>(driver: &Driver, transport: &mut T) {
    let t0 = driver
        .schedule
        .arrive(driver.load.users, driver.start_patience)
        .await;
    driver.latency_from(t0.into_std());
    loop {
        if transport.cancelled() {
            driver.schedule.stop();
        }
        let (n, due) = match driver.schedule.claim(tokio::time::Instant::now()) {
            Claim::Done => break,
            Claim::Order { n, due, .. } => (n, due),
        };
        tokio::time::sleep_until(due).await;
        driver
            .counters
            .orders_started
            .fetch_add(1, Ordering::Relaxed);
        let plan = OrderPlan::new(&driver.load, &driver.ids, n);
        let run = play_order(transport, &driver.mode, &plan, due.into_std()).await;
        driver.record(run);
    }
}

/// Sends flow requests through goose, so goose's report counts them.
pub struct GooseTransport<'u> {
    user: &'u mut GooseUser,
    timeout: Duration,
}

impl<'u> GooseTransport<'u> {
    pub fn new(user: &'u mut GooseUser, timeout: Duration) -> Self {
        Self { user, timeout }
    }

    fn builder(&self, request: &ApiRequest) -> Result<reqwest::RequestBuilder, String> {
        let builder = self
            .user
            .get_request_builder(&request.method.goose(), &request.path)
            .map_err(|e| {
                format!(
                    "cannot build {} {}: {e}",
                    request.method.as_str(),
                    request.path
                )
            })?
            .timeout(self.timeout);
        Ok(decorate(builder, request))
    }
}

fn decorate(mut builder: reqwest::RequestBuilder, request: &ApiRequest) -> reqwest::RequestBuilder {
    if let Some(key) = &request.bearer {
        builder = builder.bearer_auth(key);
    }
    if let Some(key) = &request.idempotency_key {
        builder = builder.header("Idempotency-Key", key);
    }
    let mut has_content_type = false;
    for (name, value) in &request.headers {
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        if !has_content_type {
            builder = builder.header("Content-Type", "application/json");
        }
        builder = builder.body(body.clone());
    }
    builder
}

fn failure_of(e: &reqwest::Error) -> TransportFailure {
    if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
        TransportFailure::Connection(e.to_string())
    } else {
        TransportFailure::Other(e.to_string())
    }
}

async fn read_answer(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Answer, TransportFailure> {
    let response = response.map_err(|e| failure_of(&e))?;
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("Idempotent-Replayed")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    // An answer whose body is cut off is treated as no answer: the client
    // cannot read the payment it names.
    let body = response.bytes().await.map_err(|e| failure_of(&e))?;
    Ok(Answer {
        status,
        replayed,
        body: body.to_vec(),
    })
}

impl Transport for GooseTransport<'_> {
    async fn send(&mut self, request: &ApiRequest) -> Exchange {
        let builder = match self.builder(request) {
            Ok(b) => b,
            Err(e) => {
                let now = Instant::now();
                return Exchange {
                    sent: now,
                    done: now,
                    answer: Err(TransportFailure::Other(e)),
                };
            }
        };
        let goose_request = GooseRequest::builder()
            .method(request.method.goose())
            .path(request.path.as_str())
            .name(request.step)
            .set_request_builder(builder)
            .build();
        let sent = Instant::now();
        let answer = match self.user.request(goose_request).await {
            Ok(goose_response) => read_answer(goose_response.response).await,
            Err(e) => Err(TransportFailure::Other(e.to_string())),
        };
        Exchange {
            sent,
            done: Instant::now(),
            answer,
        }
    }

    async fn send_pair(&mut self, first: &ApiRequest, second: &ApiRequest) -> (Exchange, Exchange) {
        // GooseUser sends one request at a time, so the twin goes out on a clone
        // of the user's client and is then recorded in goose's metrics by hand.
        let client = self.user.client.clone();
        let twin = match self.user.build_url(&second.path) {
            Ok(url) => Ok(decorate(
                client
                    .request(reqwest_method(second.method), url)
                    .timeout(self.timeout),
                second,
            )),
            Err(e) => Err(e.to_string()),
        };
        let twin_future = async move {
            let sent = Instant::now();
            let answer = match twin {
                Ok(builder) => read_answer(builder.send().await).await,
                Err(e) => Err(TransportFailure::Other(e)),
            };
            Exchange {
                sent,
                done: Instant::now(),
                answer,
            }
        };
        let (a, b) = tokio::join!(self.send(first), twin_future);
        let (status, success, error) = match &b.answer {
            Ok(answer) => (
                Some(answer.status),
                (200..400).contains(&answer.status),
                None,
            ),
            Err(f) => (None, false, Some(f.to_string())),
        };
        let _ = self
            .user
            .record_custom_request_duration(
                second.method.as_str(),
                second.step,
                b.done.saturating_duration_since(b.sent),
                success,
                status,
                error.as_deref(),
            )
            .await;
        (a, b)
    }

    fn cancelled(&self) -> bool {
        goose::is_killswitch_triggered()
    }
}

fn reqwest_method(m: HttpMethod) -> reqwest::Method {
    match m {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}

/// How goose itself is set up for a run.
#[derive(Debug, Clone)]
pub struct AttackOptions {
    /// Base URL every request path is joined to.
    pub host: String,
    /// Where goose writes its own HTML report, if anywhere.
    pub goose_report: Option<PathBuf>,
}

/// Goose failed to run.
#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("goose could not run the load: {0}")]
    Goose(String),
}

/// What goose counted (its own view, beside loadgen's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackSummary {
    pub goose_requests: u64,
    pub goose_failures: u64,
}

/// The goose configuration for a run, built in code (goose's own argument
/// parser must not see loadgen's command line).
pub fn goose_configuration(load: &LoadPlan, options: &AttackOptions) -> GooseConfiguration {
    let mut config = GooseConfiguration::default();
    config.host = Some(options.host.clone());
    config.users = Some(load.users);
    // All users start within about half a second: the schedule waits for them
    // (Schedule::arrive), so a slow ramp would only delay order 0.
    config.increase_rate = Some(format!("{}", (load.users * 2).max(2)));
    // One iteration: the transaction loops over orders itself, and the run ends
    // when the schedule is exhausted and the last order has finished.
    config.iterations = Some(1);
    config.timeout = Some(format!("{:.3}", load.timeout.as_secs_f64().max(0.001)));
    // gateway-sim does not compress; asking would only add a header per request.
    config.no_gzip = true;
    config.quiet = 1;
    config.no_print_metrics = true;
    // The goose transaction spans the whole run (it loops over orders): its
    // timing means nothing, the per-request metrics are what goose adds.
    config.no_transaction_metrics = true;
    config.no_scenario_metrics = true;
    config.no_error_summary = false;
    // The telnet controller would bind 127.0.0.1:5116 and make two runs on one
    // machine collide; loadgen drives goose from code only.
    config.no_telnet = true;
    config.report_file = options
        .goose_report
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    config
}

/// Runs every user under goose until the schedule is exhausted.
pub async fn run_attack(
    driver: Arc<Driver>,
    options: &AttackOptions,
) -> Result<AttackSummary, AttackError> {
    let config = goose_configuration(&driver.load, options);
    let timeout = driver.load.timeout;
    let shared = driver.clone();
    let transaction: TransactionFunction = Arc::new(move |user| {
        let driver = shared.clone();
        Box::pin(async move {
            let mut transport = GooseTransport::new(user, timeout);
            drive_user(&driver, &mut transport).await;
            Ok(())
        })
    });
    let scenario = Scenario::new("orders")
        .register_transaction(Transaction::new(transaction).set_name("orders"));
    // One client shared by every user: one connection pool sized by the
    // requests actually in flight, and the system's root certificates loaded
    // once instead of once per user (which costs seconds of CPU at startup).
    let client = GooseClientBuilder::new()
        .without_cookies()
        .timeout(timeout)
        .user_agent(concat!("loadgen/", env!("CARGO_PKG_VERSION")))
        .gzip(false);
    let metrics = GooseAttack::initialize_with_config(config)
        .map_err(|e| AttackError::Goose(e.to_string()))?
        .set_client_builder_without_cookies(client)
        .map_err(|e| AttackError::Goose(e.to_string()))?
        .register_scenario(scenario)
        .execute()
        .await
        .map_err(|e| AttackError::Goose(e.to_string()))?;
    let mut summary = AttackSummary::default();
    for aggregate in metrics.requests.values() {
        summary.goose_requests += (aggregate.success_count + aggregate.fail_count) as u64;
        summary.goose_failures += aggregate.fail_count as u64;
    }
    Ok(summary)
}

#[cfg(test)]
pub(crate) mod testing {
    //! A scripted transport for flow tests.

    use super::*;
    use std::collections::VecDeque;

    /// Answers requests from a script, in order, and remembers what was sent.
    #[derive(Default)]
    pub struct Scripted {
        pub script: VecDeque<Result<Answer, TransportFailure>>,
        pub sent: Vec<ApiRequest>,
    }

    pub fn json(status: u16, body: serde_json::Value) -> Result<Answer, TransportFailure> {
        Ok(Answer {
            status,
            replayed: false,
            body: body.to_string().into_bytes(),
        })
    }

    pub fn payment(id: &str, status: &str, amount: i64, captured: i64) -> serde_json::Value {
        serde_json::json!({
            "id": id, "object": "payment", "status": status, "amount": amount,
            "amount_capturable": amount - captured, "amount_captured": captured,
            "amount_refunded": 0, "currency": "usd", "refunds": []
        })
    }

    impl Scripted {
        pub fn new(script: Vec<Result<Answer, TransportFailure>>) -> Self {
            Self {
                script: script.into(),
                sent: Vec::new(),
            }
        }

        fn next(&mut self, request: &ApiRequest) -> Exchange {
            self.sent.push(request.clone());
            let now = Instant::now();
            Exchange {
                sent: now,
                done: now,
                answer: self
                    .script
                    .pop_front()
                    .unwrap_or(Err(TransportFailure::Other("script exhausted".into()))),
            }
        }
    }

    impl Transport for Scripted {
        async fn send(&mut self, request: &ApiRequest) -> Exchange {
            self.next(request)
        }

        async fn send_pair(&mut self, a: &ApiRequest, b: &ApiRequest) -> (Exchange, Exchange) {
            (self.next(a), self.next(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn load(text: &str) -> LoadPlan {
        Scenario::parse(text, "t", "t.toml").expect("valid").load
    }

    #[test]
    fn draws_are_reproducible_and_spread() {
        assert_eq!(draw(7, 3, salt::FLOW), draw(7, 3, salt::FLOW));
        assert_ne!(draw(7, 3, salt::FLOW), draw(8, 3, salt::FLOW));
        assert_ne!(draw(7, 3, salt::FLOW), draw(7, 4, salt::FLOW));
        assert_ne!(draw(7, 3, salt::FLOW), draw(7, 3, salt::AMOUNT));
        // Roughly uniform: the low bit is set about half the time.
        let ones = (0..10_000)
            .filter(|n| draw(1, *n, salt::FLOW) & 1 == 1)
            .count();
        assert!((4_500..5_500).contains(&ones), "{ones}");
    }

    #[test]
    fn order_plans_follow_the_load_plan() {
        let plan = load(
            "[load]\nseed = 5\nmerchants = 3\namount_min = 100\namount_max = 110\n[load.mix]\npurchase = 1\nretry_new_key = 1\n",
        );
        let ids = OrderIds::new(5, "");
        let mut flows = std::collections::BTreeSet::new();
        let mut merchants = std::collections::BTreeSet::new();
        for n in 0..500 {
            let order = OrderPlan::new(&plan, &ids, n);
            assert_eq!(order, OrderPlan::new(&plan, &ids, n), "reproducible");
            assert_eq!(order.order_id, format!("ord-5-{n}"));
            assert!((100..=110).contains(&order.amount));
            flows.insert(order.flow);
            merchants.insert(order.merchant.clone());
            if let Some(part) = order.partial_amount(2) {
                assert!(part >= 1 && part < order.amount);
            }
        }
        assert_eq!(
            flows.into_iter().collect::<Vec<_>>(),
            vec![FlowKind::Purchase, FlowKind::RetryNewKey]
        );
        assert_eq!(merchants.len(), 3);
    }

    #[test]
    fn order_ids_are_unique_per_order_and_per_tag() {
        let plain = OrderIds::new(9, "");
        let tagged = OrderIds::new(9, "abc");
        assert_ne!(plain.order_id(1), plain.order_id(2));
        assert_eq!(tagged.order_id(1), "ord-9-abc-1");
        assert_ne!(plain.order_id(1), tagged.order_id(1));
    }

    #[test]
    fn worker_order_ids_name_the_worker_and_the_run_wide_number() {
        use crate::pacing::WorkerShare;
        let share = |i| WorkerShare::new(i, 2).expect("valid");
        let first = OrderIds::new(9, "abc").for_worker(share(1));
        let second = OrderIds::new(9, "abc").for_worker(share(2));
        assert_eq!(first.order_id(4), "ord-9-abc-w1of2-4");
        assert_eq!(second.order_id(5), "ord-9-abc-w2of2-5");
        // Even a misconfigured pair playing the same numbers cannot collide.
        assert_ne!(first.order_id(4), second.order_id(4));
        let embedded = OrderIds::new(9, "").for_worker(share(2));
        assert_eq!(embedded.order_id(7), "ord-9-w2of2-7");
    }

    #[test]
    fn replies_are_read_by_status_and_code() {
        use testing::json;
        let ok = json(200, testing::payment("pay_1", "succeeded", 10, 10));
        let (reply, status, pid) = read_reply(&ok);
        assert!(matches!(reply, Reply::Ok(_)));
        assert_eq!((status, pid.as_deref()), (Some(200), Some("pay_1")));

        let declined = json(
            402,
            serde_json::json!({"error": {"type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds", "payment_id": "pay_2"}}),
        );
        let (reply, _, pid) = read_reply(&declined);
        assert_eq!(
            reply,
            Reply::Declined {
                payment_id: Some("pay_2".into()),
                code: Some("insufficient_funds".into())
            }
        );
        assert_eq!(pid.as_deref(), Some("pay_2"));

        let in_use = json(
            409,
            serde_json::json!({"error": {"code": "idempotency_key_in_use"}}),
        );
        assert_eq!(read_reply(&in_use).0, Reply::InUse);
        let invalid_state = json(409, serde_json::json!({"error": {"code": "invalid_state"}}));
        assert!(matches!(
            read_reply(&invalid_state).0,
            Reply::Rejected { status: 409, .. }
        ));
        let limited = json(429, serde_json::json!({"error": {"code": "rate_limited"}}));
        assert!(matches!(
            read_reply(&limited).0,
            Reply::Rejected { status: 429, .. }
        ));
        let broken = json(503, serde_json::json!({"error": {"code": "unavailable"}}));
        assert!(matches!(read_reply(&broken).0, Reply::Ambiguous(_)));
        let garbled = Ok(Answer {
            status: 200,
            replayed: false,
            body: b"{\"id\":".to_vec(),
        });
        assert!(matches!(read_reply(&garbled).0, Reply::Ambiguous(_)));
        assert!(matches!(
            read_reply(&Err(TransportFailure::Timeout)),
            (Reply::Ambiguous(_), None, None)
        ));
    }

    #[test]
    fn goose_configuration_is_built_in_code() {
        let plan = load("[load]\nusers = 16\ntimeout = \"1500ms\"\n");
        let config = goose_configuration(
            &plan,
            &AttackOptions {
                host: "http://127.0.0.1:9".into(),
                goose_report: Some(PathBuf::from("/tmp/x/goose-report.html")),
            },
        );
        assert_eq!(config.users, Some(16));
        assert_eq!(config.iterations, Some(1));
        assert_eq!(config.timeout.as_deref(), Some("1.500"));
        assert!(config.no_telnet);
        assert_eq!(
            config.report_file,
            vec!["/tmp/x/goose-report.html".to_string()]
        );
    }
}
