//! Bad input gets a clear JSON error with the right status, never a panic.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{answer, assert_error_shape, spawn_app};

#[tokio::test]
async fn a_missing_api_key_is_401() {
    let app = spawn_app().await;
    let a = answer(
        app.client
            .get(app.url("/v1/payments/pay_x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_error_shape(&a);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = spawn_app().await;
    let a = app.get("/v2/whatever").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_error_shape(&a);
    let b = answer(
        app.client
            .delete(app.url("/v1/payments"))
            .bearer_auth("k")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(b.headers.get("allow").unwrap(), "GET, POST");
    assert_error_shape(&b);
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = spawn_app().await;
    let big = format!(
        "{{\"amount\": 1, \"currency\": \"usd\", \"payment_method\": \"pm_card_visa\", \"pad\": \"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let a = answer(
        app.client
            .post(app.url("/v1/payments"))
            .bearer_auth("k")
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error_shape(&a);
}

/// A client that writes its whole 2 MiB upload before it reads (as most HTTP libraries do for
/// a plain POST) still reads the 413: the server drains the rest of the upload instead of
/// closing on it, which would reset the connection and lose the answer.
#[tokio::test]
async fn a_client_that_writes_two_mebibytes_before_reading_still_reads_the_413() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let body = vec![b'x'; 2 * 1024 * 1024];
    for framing in ["content-length", "chunked"] {
        let mut socket = crate::raw::connect_small_buffers(&app).await;
        let head = match framing {
            "content-length" => format!(
                "POST /v1/payments HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer k\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            ),
            _ => "POST /v1/payments HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer k\r\n\
                  Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_string(),
        };
        socket
            .write_all(head.as_bytes())
            .await
            .expect("head written");
        if framing == "chunked" {
            for chunk in body.chunks(64 * 1024) {
                let size = format!("{:x}\r\n", chunk.len());
                socket.write_all(size.as_bytes()).await.expect("chunk size");
                socket.write_all(chunk).await.expect("chunk written");
                socket.write_all(b"\r\n").await.expect("chunk end");
            }
            socket.write_all(b"0\r\n\r\n").await.expect("last chunk");
        } else {
            socket
                .write_all(&body)
                .await
                .expect("the whole upload is written: no broken pipe");
        }
        let answer =
            crate::raw::read_to_close(&mut socket, std::time::Duration::from_secs(10)).await;
        assert_eq!(answer.status(), Some(413), "{framing}");
        assert_eq!(
            answer.header("connection").as_deref(),
            Some("close"),
            "{framing}"
        );
        let json: serde_json::Value = serde_json::from_slice(answer.body()).expect("a JSON error");
        assert_eq!(json["error"]["code"], "body_too_large", "{framing}");
    }
    assert!(app.sim.ledger_entries().is_empty());
}

#[tokio::test]
async fn a_client_that_expects_100_continue_gets_the_413_before_uploading() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let mut socket = crate::raw::connect(&app).await;
    socket
        .write_all(
            b"POST /v1/payments HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer k\r\n\
              Content-Type: application/json\r\nContent-Length: 2097152\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .await
        .expect("head written");
    let answer = crate::raw::read_to_close(&mut socket, std::time::Duration::from_secs(2)).await;
    assert_eq!(
        answer.status(),
        Some(413),
        "answered without waiting for the body"
    );
}

#[tokio::test]
async fn a_non_json_body_is_415() {
    let app = spawn_app().await;
    let a = answer(
        app.client
            .post(app.url("/v1/payments"))
            .bearer_auth("k")
            .header("content-type", "text/plain")
            .body("amount=1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error_shape(&a);
}

#[tokio::test]
async fn bad_fields_are_400_naming_the_field() {
    let app = spawn_app().await;
    for (body, param) in [
        (
            json!({"amount": "ten", "currency": "usd", "payment_method": "pm_card_visa"}),
            "amount",
        ),
        (
            json!({"amount": 10, "currency": "usd", "payment_method": "pm_card_visa", "captur": true}),
            "captur",
        ),
        (
            json!({"amount": 10, "currency": "usd", "payment_method": "pm_bogus"}),
            "payment_method",
        ),
        (
            json!({"amount": 10, "payment_method": "pm_card_visa"}),
            "currency",
        ),
    ] {
        let a = app.post("/v1/payments", body.clone(), None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_error_shape(&a);
        assert_eq!(a.json["error"]["param"], param, "{body} -> {}", a.json);
    }
    assert_eq!(app.sim.engine().stats().payments, 0, "nothing half-applied");
}

#[tokio::test]
async fn state_violations_are_409_and_too_large_amounts_400() {
    let app = spawn_app().await;
    let charge = app.create_payment(1000, true, "o").await;
    let id = charge["id"].as_str().unwrap();
    let twice = app
        .post(&format!("/v1/payments/{id}/capture"), json!({}), None)
        .await;
    assert_eq!(
        (twice.status, twice.error_code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    let cancel = app
        .post(&format!("/v1/payments/{id}/cancel"), json!({}), None)
        .await;
    assert_eq!(
        (cancel.status, cancel.error_code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    let auth = app.create_payment(1000, false, "o2").await;
    let aid = auth["id"].as_str().unwrap();
    let refund_auth = app
        .post(&format!("/v1/payments/{aid}/refunds"), json!({}), None)
        .await;
    assert_eq!(
        (refund_auth.status, refund_auth.error_code()),
        (StatusCode::CONFLICT, "invalid_state")
    );
    let too_much = app
        .post(
            &format!("/v1/payments/{aid}/capture"),
            json!({"amount": 1001}),
            None,
        )
        .await;
    assert_eq!(
        (too_much.status, too_much.error_code()),
        (StatusCode::BAD_REQUEST, "amount_too_large")
    );
    for a in [&twice, &cancel, &refund_auth, &too_much] {
        assert_error_shape(a);
    }
}

#[tokio::test]
async fn hostile_input_never_panics_and_always_answers_json() {
    let app = spawn_app().await;
    let bodies: Vec<&[u8]> = vec![
        b"", b"{", b"null", b"[]", b"\"str\"", b"{\"amount\": 1e400}", b"{\"amount\": 9223372036854775807, \"currency\": \"usd\", \"payment_method\": \"pm_card_visa\"}",
        b"{\"amount\": -9223372036854775808}", b"\xff\xfe\x00", b"{\"card\": {\"number\": \"\"}}", b"{\"metadata\": 5}",
    ];
    for path in [
        "/v1/payments",
        "/v1/payments/pay_%zz/capture",
        "/v1/payments/pay_0000000000000000000000/refunds",
        "/v1/payments/%/cancel",
    ] {
        for body in &bodies {
            let a = answer(
                app.client
                    .post(app.url(path))
                    .bearer_auth("k")
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert!(
                a.status.is_client_error(),
                "{path} {:?} -> {}",
                String::from_utf8_lossy(body),
                a.status
            );
            assert_error_shape(&a);
        }
    }
    assert_eq!(
        app.get("/_sim/health").await.status,
        StatusCode::OK,
        "still serving"
    );
}
