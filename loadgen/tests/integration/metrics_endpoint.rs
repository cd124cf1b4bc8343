//! The live metrics endpoint (`--metrics-listen`), scraped while a run goes on: a short,
//! slow run against the embedded gateway, with a half-failing window in the middle, is
//! scraped twice. Both pages must be valid Prometheus text, show the scenario's rate as the
//! target, more orders started the second time, a cumulative latency histogram ending at its
//! count, and the window's 503s counted as errors of their kind. After the run the endpoint
//! is gone, and report.json places the window on the run's clock.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::scratch_dir;
use loadgen::run::{LiveOptions, RunOptions, ShardOptions, SystemUnderTest, execute_live};
use loadgen::{MetricsEndpoint, ProgressFormat, Scenario};

/// 20 orders/s for 4 s; from 1 s to 2.5 s of the gateway's time half of all requests get 503.
const SCENARIO: &str = r#"
[gateway]
seed = 42
latency = { distribution = "lognormal", p50 = "3ms", p99 = "20ms" }

[[gateway.schedule]]
from = "1s"
until = "2500ms"
faults = { http_503 = 0.5 }

[load]
rate = 20
duration = "4s"
users = 8
seed = 7
timeout = "2s"
settle = "100ms"
"#;

/// One scraped page: each sample's value by its series (name and labels, as written), and the
/// histogram's buckets in page order.
struct Page {
    samples: BTreeMap<String, f64>,
    buckets: Vec<(String, f64)>,
}

impl Page {
    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no {series} in the page"))
    }
}

/// Parses Prometheus text format 0.0.4 strictly enough to catch a malformed line: comments
/// are `# HELP name text` or `# TYPE name type`; a sample is a metric name, optional
/// `{label="value",...}`, one space, and a number; every sample's family was typed before it.
fn parse(text: &str) -> Page {
    let mut typed = BTreeSet::new();
    let mut page = Page {
        samples: BTreeMap::new(),
        buckets: Vec::new(),
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (keyword, name, tail) = (words.next(), words.next(), words.next());
            let name = name.unwrap_or_else(|| panic!("a comment without a name: {line}"));
            assert!(is_name(name), "bad metric name: {line}");
            match keyword {
                Some("HELP") => assert!(tail.is_some_and(|t| !t.is_empty()), "{line}"),
                Some("TYPE") => {
                    assert!(
                        matches!(tail, Some("counter" | "gauge" | "histogram")),
                        "{line}"
                    );
                    assert!(typed.insert(name.to_owned()), "typed twice: {line}");
                }
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = series.split('{').next().unwrap_or_default();
        assert!(is_name(name), "bad metric name: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("bad label set: {line}"));
            for pair in inner.split("\",") {
                let (key, quoted) = pair
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("bad label: {line}"));
                assert!(is_name(key) && !key.contains(':'), "bad label name: {line}");
                assert!(!quoted.trim_end_matches('"').contains('"'), "{line}");
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)))
            .unwrap_or(name);
        assert!(typed.contains(family), "a sample before its TYPE: {line}");
        let number: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        if name == "loadgen_request_duration_seconds_bucket" {
            page.buckets.push((series.to_owned(), number));
        }
        assert!(
            page.samples.insert(series.to_owned(), number).is_none(),
            "series twice: {line}"
        );
    }
    page
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Scrapes `url` (asserting the content type), parsed.
async fn scrape(client: &reqwest::Client, url: &str) -> Page {
    let response = client.get(url).send().await.expect("the endpoint answers");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.expect("a body"))
}

/// Scrapes once orders are being started, then again 2.6 s later (past the failing window,
/// before the 4 s schedule ends). Also asks for a path that is not served.
async fn scrape_twice(addr: SocketAddr) -> (Page, Page) {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let page = scrape(&client, &url).await;
        if page.value("loadgen_orders_started_total") > 0.0 {
            break page;
        }
        assert!(Instant::now() < deadline, "no order started in 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let missing = client
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), 404);
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let second = scrape(&client, &url).await;
    (first, second)
}

fn assert_histogram(page: &Page) {
    let counts: Vec<f64> = page.buckets.iter().map(|(_, n)| *n).collect();
    assert!(counts.len() > 2, "{:?}", page.buckets);
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "buckets are cumulative: {:?}",
        page.buckets
    );
    let (last, inf) = page.buckets.last().cloned().unwrap_or_default();
    assert_eq!(last, "loadgen_request_duration_seconds_bucket{le=\"+Inf\"}");
    assert_eq!(inf, page.value("loadgen_request_duration_seconds_count"));
    assert!(page.value("loadgen_request_duration_seconds_sum") >= 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_is_scraped_while_the_run_goes_on() {
    let _turn = crate::common::load_turn_shared().await;
    let endpoint = MetricsEndpoint::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("binds port 0");
    let addr = endpoint.local_addr().expect("a bound address");
    let options = RunOptions {
        scenario: Scenario::parse(SCENARIO, "metrics", "metrics.toml").expect("valid scenario"),
        system: SystemUnderTest::Embedded,
        report_dir: Some(scratch_dir("metrics-endpoint")),
        admin_token: None,
        quiet: true,
    };
    let live = LiveOptions {
        progress: ProgressFormat::Human,
        metrics: Some(endpoint),
    };
    let shard = ShardOptions::default();
    // Both on this task: the run is driven while the scraper waits.
    let (finished, (first, second)) =
        tokio::join!(execute_live(options, &shard, live), scrape_twice(addr));
    let finished = finished.expect("the run completes");

    for page in [&first, &second] {
        assert_eq!(page.value("loadgen_target_rate"), 20.0);
        assert_eq!(
            page.value("loadgen_check_done"),
            0.0,
            "checked only after the load"
        );
        assert_eq!(page.value("loadgen_orders_scheduled"), 80.0);
        assert_eq!(
            page.value(r#"loadgen_run_info{command="run",scenario="metrics",mode="embedded"}"#),
            1.0
        );
        assert_histogram(page);
    }
    assert!(
        second.value("loadgen_orders_started_total") > first.value("loadgen_orders_started_total"),
        "orders kept starting between the scrapes"
    );
    assert!(second.value("loadgen_request_duration_seconds_count") > 0.0);
    assert!(
        second.value(r#"loadgen_request_errors_total{kind="http_5xx"}"#) > 0.0,
        "the window's 503s are counted by kind while the run goes on"
    );
    assert_eq!(
        second.value(r#"loadgen_request_errors_total{kind="timeout"}"#),
        0.0
    );

    // The run ended: so did the endpoint.
    assert!(
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .is_err(),
        "the endpoint stops with the run"
    );
    let report = &finished.report;
    assert!(report.passed, "{:?}", report.checks);
    let windows: Vec<&str> = report
        .gateway_windows
        .iter()
        .map(|w| w.label.as_str())
        .collect();
    assert_eq!(windows, ["brownout 1s–2500ms"]);
    let lead_s = report.gateway_lead_ms.expect("measured: embedded") / 1000.0;
    assert!((report.gateway_windows[0].from_s - (1.0 - lead_s)).abs() < 1e-9);
    let html = std::fs::read_to_string(&finished.files.html).expect("report.html");
    assert!(
        html.contains(">brownout 1s–2500ms</text>"),
        "a band on the charts"
    );
    let _ = std::fs::remove_dir_all(&finished.report_dir);
}
