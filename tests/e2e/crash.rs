//! No lost state: the real gateway-sim binary with `--data-dir`, killed with SIGKILL in the
//! middle of a load of creates, captures and refunds, restarted on the same directory
//! (with a torn frame appended to its journal, as a crash mid-write leaves), must hold every
//! answer a client received: each acknowledged payment, capture and refund in the state the
//! answer said (or further along, by a request whose answer the kill swallowed), each
//! idempotency key replaying the very bytes it answered, the ledger numbered without a gap
//! and agreeing with every payment's amounts.
//!
//! Bounded: 16 clients for about 1.5 s of load, at most 300 replays checked, and every wait
//! for the binary times out.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

const CLIENTS: usize = 16;
const LOAD_FOR: Duration = Duration::from_millis(1500);
const MAX_REPLAYS: usize = 300;
const API_KEY: &str = "Bearer sk_test_crash";

/// The release binary beside this test's own (`target/release/deps/e2e-*` → `target/release`).
pub(super) fn gateway_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let bin = dir.join("gateway-sim");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --release -p gateway-sim; scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A gateway-sim process on a free port, killed when dropped.
pub(super) struct Gateway {
    child: Child,
    pub(super) url: String,
}

impl Gateway {
    fn start(data_dir: &Path) -> Gateway {
        let dir = data_dir.to_string_lossy().into_owned();
        Gateway::start_with(&["--fsync", "batch", "--data-dir", &dir])
    }

    /// Starts the binary with `args` after `--listen 127.0.0.1:0`.
    pub(super) fn start_with(args: &[&str]) -> Gateway {
        let mut child = Command::new(gateway_binary())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gateway-sim starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("gateway-sim listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("gateway-sim prints its address within 30 s (replay included)");
        Gateway { child, url }
    }

    /// SIGKILL: no shutdown, no flush, as a crash.
    pub(super) fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().expect("the killed process is reaped");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer a client received (2xx or 4xx: an answer the gateway stands behind).
#[derive(Debug, Clone)]
struct Answer {
    path: String,
    key: String,
    body: String,
    status: u16,
    bytes: Vec<u8>,
}

/// What each payment's client last heard, and whether a later request of it went unanswered.
#[derive(Debug, Default)]
struct Heard {
    answers: Vec<Answer>,
    /// payment id → (last acknowledged payment JSON, a later request unanswered)
    payments: BTreeMap<String, (Value, bool)>,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    path: &str,
    key: &str,
    body: &str,
) -> Option<Answer> {
    let response = client
        .post(format!("{url}{path}"))
        .header("Authorization", API_KEY)
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.ok()?.to_vec();
    Some(Answer {
        path: path.to_string(),
        key: key.to_string(),
        body: body.to_string(),
        status,
        bytes,
    })
}

/// One client: create (manual capture), capture, refund part, over and over, recording
/// every answer, until the gateway stops answering.
async fn client_loop(url: String, client_no: usize, heard: Arc<Mutex<Heard>>, stop_at: Instant) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client builds");
    let mut n = 0u64;
    // The kill comes while clients still run: they go on until a request fails.
    while Instant::now() < stop_at + Duration::from_secs(10) {
        n += 1;
        let amount = 1000 + (n % 97) as i64;
        let create = format!(
            r#"{{"amount":{amount},"currency":"usd","reference":"crash-{client_no}-{n}","payment_method":"pm_card_visa","capture":false}}"#
        );
        let key = format!("c{client_no}-{n}-create");
        let Some(created) = post(&client, &url, "/v1/payments", &key, &create).await else {
            return;
        };
        let payment: Value = serde_json::from_slice(&created.bytes).expect("a create answers JSON");
        let id = payment["id"]
            .as_str()
            .expect("a payment has an id")
            .to_string();
        record(&heard, &id, created, &payment);
        let follow_ups = [
            (
                format!("/v1/payments/{id}/capture"),
                format!("c{client_no}-{n}-capture"),
                "{}".to_string(),
            ),
            (
                format!("/v1/payments/{id}/refunds"),
                format!("c{client_no}-{n}-refund"),
                r#"{"amount":300}"#.to_string(),
            ),
        ];
        for (path, key, body) in follow_ups {
            match post(&client, &url, &path, &key, &body).await {
                Some(answer) if answer.status < 300 => {
                    let value: Value = serde_json::from_slice(&answer.bytes).expect("JSON answer");
                    // A refund answers the refund; the payment is read back below.
                    let state = if path.ends_with("/refunds") {
                        heard.lock().answers.push(answer);
                        match get_payment(&client, &url, &id).await {
                            Some(p) => p,
                            None => {
                                mark_unanswered(&heard, &id);
                                return;
                            }
                        }
                    } else {
                        heard.lock().answers.push(answer);
                        value
                    };
                    heard.lock().payments.insert(id.clone(), (state, false));
                }
                Some(answer) => panic!(
                    "unexpected answer {} to {path}: {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.bytes)
                ),
                None => {
                    mark_unanswered(&heard, &id);
                    return;
                }
            }
        }
    }
}

fn record(heard: &Mutex<Heard>, id: &str, answer: Answer, payment: &Value) {
    let mut heard = heard.lock();
    heard.answers.push(answer);
    heard
        .payments
        .insert(id.to_string(), (payment.clone(), false));
}

fn mark_unanswered(heard: &Mutex<Heard>, id: &str) {
    if let Some(entry) = heard.lock().payments.get_mut(id) {
        entry.1 = true;
    }
}

async fn get_payment(client: &reqwest::Client, url: &str, id: &str) -> Option<Value> {
    let response = client
        .get(format!("{url}/v1/payments/{id}"))
        .header("Authorization", API_KEY)
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

pub(super) async fn ledger(url: &str) -> Vec<Value> {
    let text = reqwest::get(format!("{url}/_sim/ledger"))
        .await
        .expect("the ledger answers")
        .text()
        .await
        .expect("the ledger reads");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("each ledger line is JSON"))
        .collect()
}

pub(super) fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("gateway-sim-crash-{}-{nanos}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_gateway_comes_back_with_every_answer_it_gave() {
    let dir = scratch_dir();
    let gateway = Gateway::start(&dir);
    let heard = Arc::new(Mutex::new(Heard::default()));
    let stop_at = Instant::now() + LOAD_FOR;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(client_loop(gateway.url.clone(), i, heard.clone(), stop_at)))
        .collect();
    tokio::time::sleep(LOAD_FOR).await;
    gateway.kill();
    for client in clients {
        client.await.expect("a client ends without panicking");
    }

    // A crash mid-write leaves a torn last frame: a header promising more than follows.
    let journal = dir.join(gateway_sim::JOURNAL_FILE);
    let before = std::fs::read(&journal).expect("the journal exists");
    let intact = before.len();
    let keyed_changes = keys_share_their_changes_frame(&before);
    // A header promising 1,000 bytes, then 20 of them: what a kill mid-write leaves.
    let mut torn = 1000u32.to_le_bytes().to_vec();
    torn.extend_from_slice(&[7u8; 20]);
    {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .expect("journal opens");
        file.write_all(&torn).expect("torn bytes are written");
    }

    let gateway = Gateway::start(&dir);
    // The restarted gateway may already have appended frames of its own (its sweeper runs
    // each second), so the check is that what follows the intact frames is not the torn one.
    let after = std::fs::read(&journal).expect("the journal exists");
    assert!(
        after.len() >= intact && after[..intact] == before[..],
        "the intact frames are kept as they were"
    );
    assert!(
        after.get(intact..intact + torn.len()) != Some(&torn[..]),
        "the torn frame is cut off the journal on start"
    );
    let heard = std::mem::take(&mut *heard.lock());
    assert!(
        heard.payments.len() >= 20,
        "the load made too few payments to prove anything: {}",
        heard.payments.len()
    );
    let client = reqwest::Client::new();

    // Every acknowledged payment, in the state its last answer said (or further along
    // when a later request of it went unanswered: the kill may have come after its commit).
    let mut ahead = 0;
    for (id, (acked, unanswered_after)) in &heard.payments {
        let now = get_payment(&client, &gateway.url, id)
            .await
            .unwrap_or_else(|| panic!("acknowledged payment {id} is lost"));
        let fields = [
            "status",
            "amount",
            "amount_captured",
            "amount_refunded",
            "reference",
            "created",
        ];
        let same = fields.iter().all(|f| now[f] == acked[f]);
        if !same {
            assert!(
                *unanswered_after,
                "payment {id} changed without an unanswered request:\nacknowledged {acked}\nnow {now}"
            );
            assert!(
                now["amount_captured"].as_i64() >= acked["amount_captured"].as_i64(),
                "{id}: capture lost"
            );
            assert!(
                now["amount_refunded"].as_i64() >= acked["amount_refunded"].as_i64(),
                "{id}: refund lost"
            );
            ahead += 1;
        }
    }

    // A replay of a pre-crash key answers the same bytes.
    for answer in heard.answers.iter().rev().take(MAX_REPLAYS) {
        let again = post(
            &client,
            &gateway.url,
            &answer.path,
            &answer.key,
            &answer.body,
        )
        .await
        .expect("the restarted gateway answers");
        assert_eq!(
            again.status, answer.status,
            "{} {}: status differs after restart",
            answer.path, answer.key
        );
        assert_eq!(
            String::from_utf8_lossy(&again.bytes),
            String::from_utf8_lossy(&answer.bytes),
            "{} {}: replayed bytes differ after restart",
            answer.path,
            answer.key
        );
    }

    // The ledger: numbered 1..n without a gap, and agreeing with every payment.
    let entries = ledger(&gateway.url).await;
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(
            entry["seq"].as_u64(),
            Some(i as u64 + 1),
            "the ledger has a gap before {entry}"
        );
    }
    let mut captured: BTreeMap<&str, i64> = BTreeMap::new();
    let mut refunded: BTreeMap<&str, i64> = BTreeMap::new();
    for entry in &entries {
        let id = entry["payment_id"]
            .as_str()
            .expect("an entry names its payment");
        let amount = entry["amount"].as_i64().expect("an entry has an amount");
        match entry["kind"].as_str() {
            Some("capture") => *captured.entry(id).or_default() += amount,
            Some("refund") => *refunded.entry(id).or_default() += amount,
            _ => {}
        }
    }
    for id in heard.payments.keys() {
        let now = get_payment(&client, &gateway.url, id)
            .await
            .expect("payment is there");
        assert_eq!(
            now["amount_captured"].as_i64(),
            Some(captured.get(id.as_str()).copied().unwrap_or(0)),
            "{id}: ledger captures disagree with the payment"
        );
        assert_eq!(
            now["amount_refunded"].as_i64(),
            Some(refunded.get(id.as_str()).copied().unwrap_or(0)),
            "{id}: ledger refunds disagree with the payment"
        );
    }
    eprintln!(
        "crash test: {} payments and {} answers acknowledged before the kill, {} further along after it, {} ledger entries, {keyed_changes} keyed changes each journaled with its key, journal {} bytes",
        heard.payments.len(),
        heard.answers.len(),
        ahead,
        entries.len(),
        intact
    );
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every change a keyed request made is in the same journal frame as that key's stored
/// answer. Were they apart, a crash between the two frames would keep the charge and lose
/// the key, and the client's retry with it would charge again. Returns how many keyed
/// changes the journal holds (the intact frames; a torn tail is where reading stops).
fn keys_share_their_changes_frame(journal: &[u8]) -> usize {
    let mut rest = journal;
    let mut keyed_changes = 0;
    while rest.len() >= 8 {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let Some(payload) = rest.get(8..8 + len) else {
            break;
        };
        rest = &rest[8 + len..];
        let Ok(records) = rmp_serde::from_slice::<Vec<Journaled>>(payload) else {
            break;
        };
        let keys: Vec<&str> = records
            .iter()
            .filter(|r| r.record == "key")
            .filter_map(|r| r.key.as_deref())
            .collect();
        for change in records.iter().filter(|r| r.record == "change") {
            if let Some(key) = change
                .request
                .as_ref()
                .and_then(|r| r.idempotency_key.as_deref())
            {
                keyed_changes += 1;
                assert!(
                    keys.contains(&key),
                    "change {:?} of key {key} is journaled without the key's answer (the frame's keys: {keys:?})",
                    change.seq
                );
            }
        }
    }
    assert!(
        keyed_changes > 0,
        "the journal holds no keyed change to check"
    );
    keyed_changes
}

/// The fields of a journal record this check reads. Typed rather than a JSON `Value`: a
/// stored answer is MessagePack bytes, which a JSON value has no form for; serde skips them.
#[derive(serde::Deserialize)]
struct Journaled {
    record: String,
    key: Option<String>,
    seq: Option<u64>,
    request: Option<JournaledRequest>,
}

#[derive(serde::Deserialize)]
struct JournaledRequest {
    idempotency_key: Option<String>,
}

/// The payouts' events (`payout.created`, `payout.paid`), oldest first, by id and type.
async fn payout_events(url: &str) -> Vec<(String, String)> {
    let listed: Value = reqwest::Client::new()
        .get(format!("{url}/v1/events?type=payout.*&limit=100"))
        .header("Authorization", API_KEY)
        .send()
        .await
        .expect("the events answer")
        .json()
        .await
        .expect("JSON");
    let mut events: Vec<(String, String)> = listed["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| (e["id"].to_string(), e["type"].to_string()))
        .collect();
    events.reverse();
    events
}

async fn advance_days(url: &str, days: u64) {
    let status = reqwest::Client::new()
        .post(format!("{url}/_sim/clock/advance"))
        .json(&serde_json::json!({"seconds": days * 86_400}))
        .send()
        .await
        .expect("the clock answers")
        .status();
    assert_eq!(status, 200);
}

/// Payouts are derived from the ledger and the clock, and rebuilt after a restart; their
/// events are journaled changes, so a restart tells none of them again.
#[tokio::test]
async fn a_restart_tells_no_payout_event_twice() {
    let dir = scratch_dir();
    let gateway = Gateway::start(&dir);
    let body = r#"{"amount": 10000, "currency": "usd", "reference": "payout-restart", "payment_method": "pm_card_visa", "capture": true}"#;
    let created = post(
        &reqwest::Client::new(),
        &gateway.url,
        "/v1/payments",
        "payout-restart",
        body,
    )
    .await
    .expect("answered");
    assert_eq!(created.status, 200, "{:?}", created.bytes);
    advance_days(&gateway.url, 3).await;
    let told = payout_events(&gateway.url).await;
    assert_eq!(told.len(), 2, "created and paid: {told:?}");
    gateway.kill();

    let again = Gateway::start(&dir);
    assert_eq!(
        payout_events(&again.url).await,
        told,
        "the same events, once"
    );
    advance_days(&again.url, 1).await;
    // The sweep runs once a second too: give it a turn before looking.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(payout_events(&again.url).await, told, "nothing retold");
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
