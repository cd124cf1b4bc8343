//! Snapshot and restore: `POST /_sim/snapshot` writes the whole state of a running
//! gateway-sim (the real binary) to a file inside its `--data-dir`; `--restore FILE` starts
//! another from it, with the same payments, ledger, events and idempotency answers; with a
//! `--data-dir` of its own its journal starts from the snapshot, so a crash after the restore
//! comes back to it too.

use serde_json::{Value, json};

use super::crash::{Gateway, ledger, scratch_dir};

const API_KEY: &str = "Bearer sk_test_snapshot";

async fn post(url: &str, path: &str, key: &str, body: Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("Authorization", API_KEY)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("the gateway answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("the answer reads"))
}

async fn get(url: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{url}{path}"))
        .header("Authorization", API_KEY)
        .send()
        .await
        .expect("the gateway answers")
        .json()
        .await
        .expect("JSON")
}

/// What a restored gateway must show exactly as the original did.
async fn state_of(url: &str, ids: &[String]) -> (Vec<Value>, Vec<Value>, Value) {
    let mut payments = Vec::new();
    for id in ids {
        payments.push(get(url, &format!("/v1/payments/{id}")).await);
    }
    (payments, ledger(url).await, get(url, "/v1/events").await)
}

#[tokio::test]
async fn a_snapshot_restores_the_same_state_and_answers() {
    let (dir_a, dir_b) = (scratch_dir(), scratch_dir().with_extension("b"));
    let a = Gateway::start_with(&["--data-dir", &dir_a.to_string_lossy()]);
    let mut ids = Vec::new();
    let mut answers = Vec::new();
    for n in 0..6 {
        let body = json!({"amount": 1500 + n, "currency": "usd", "reference": format!("snap-{n}"),
                          "payment_method": "pm_card_visa", "capture": n % 2 == 0});
        let key = format!("snap-create-{n}");
        let (status, text) = post(&a.url, "/v1/payments", &key, body.clone()).await;
        assert_eq!(status, 200, "{text}");
        let id = serde_json::from_str::<Value>(&text).expect("JSON")["id"]
            .as_str()
            .expect("id")
            .to_string();
        answers.push(("/v1/payments".to_string(), key, body, text));
        if n % 2 == 0 {
            let path = format!("/v1/payments/{id}/refunds");
            let key = format!("snap-refund-{n}");
            let (status, text) = post(&a.url, &path, &key, json!({"amount": 500})).await;
            assert_eq!(status, 200, "{text}");
            answers.push((path, key, json!({"amount": 500}), text));
        }
        ids.push(id);
    }
    let (status, text) = post(
        &a.url,
        "/_sim/snapshot",
        "unused",
        json!({"name": "../escape"}),
    )
    .await;
    assert_eq!(
        status, 400,
        "a name that leaves the snapshots folder is refused: {text}"
    );
    let (status, text) = post(
        &a.url,
        "/_sim/snapshot",
        "unused",
        json!({"name": "shared.gsnap"}),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let file = serde_json::from_str::<Value>(&text).expect("JSON")["path"]
        .as_str()
        .expect("path")
        .to_string();
    assert_eq!(
        file,
        dir_a.join("snapshots/shared.gsnap").to_string_lossy(),
        "written inside --data-dir"
    );
    let before = state_of(&a.url, &ids).await;
    drop(a);

    // Restored without a data directory: memory only, the same state.
    let b = Gateway::start_with(&["--restore", &file]);
    assert_eq!(state_of(&b.url, &ids).await, before, "memory-only restore");
    drop(b);

    // Restored into an empty data directory, then killed and restarted from its journal.
    let c = Gateway::start_with(&["--restore", &file, "--data-dir", &dir_b.to_string_lossy()]);
    assert_eq!(
        state_of(&c.url, &ids).await,
        before,
        "restore into a data directory"
    );
    c.kill();
    let c = Gateway::start_with(&["--data-dir", &dir_b.to_string_lossy()]);
    assert_eq!(
        state_of(&c.url, &ids).await,
        before,
        "its journal started from the snapshot"
    );
    for (path, key, body, text) in &answers {
        let (status, again) = post(&c.url, path, key, body.clone()).await;
        assert_eq!(
            (status, again.as_str()),
            (200, text.as_str()),
            "{path} {key} replays the same bytes"
        );
    }
    drop(c);
    let _ = std::fs::remove_dir_all(&dir_a);
    let _ = std::fs::remove_dir_all(&dir_b);
}
