//! Raw HTTP/1.1 over a plain TCP socket, for what an HTTP library hides: a body
//! shorter than its Content-Length, a connection closed without a byte, a client that writes
//! its whole upload before it reads.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// What came back on the socket until the server closed it.
pub struct RawAnswer {
    pub bytes: Vec<u8>,
}

impl RawAnswer {
    /// The status line's code, if a status line arrived.
    pub fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.bytes);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(self.head());
        text.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The bytes after the head (whatever arrived of the body).
    pub fn body(&self) -> &[u8] {
        match self.bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => &self.bytes[end + 4..],
            None => &[],
        }
    }

    fn head(&self) -> &[u8] {
        match self.bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => &self.bytes[..end],
            None => &self.bytes,
        }
    }
}

/// Connects to the simulator.
pub async fn connect(app: &TestApp) -> TcpStream {
    let address = app.sim.url().trim_start_matches("http://").to_string();
    TcpStream::connect(address).await.expect("connects")
}

/// Connects to the simulator with small socket buffers, so a large upload cannot hide in the
/// kernel's buffers: the client's writes block until the server reads, as over a real network.
pub async fn connect_small_buffers(app: &TestApp) -> TcpStream {
    let address = app
        .sim
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_send_buffer_size(16 * 1024).expect("send buffer");
    socket
        .set_recv_buffer_size(16 * 1024)
        .expect("receive buffer");
    socket.connect(address).await.expect("connects")
}

/// Sends `request` whole (head and body), then reads until the server closes the connection
/// (at most `within`). Send `Connection: close` for an answer that completes normally.
pub async fn exchange(app: &TestApp, request: &[u8], within: Duration) -> RawAnswer {
    let mut socket = connect(app).await;
    socket.write_all(request).await.expect("request written");
    read_to_close(&mut socket, within).await
}

/// Reads until the server closes the connection, at most `within`; a reset ends the read too.
pub async fn read_to_close(socket: &mut TcpStream, within: Duration) -> RawAnswer {
    let mut bytes = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server closes the connection in time");
    RawAnswer { bytes }
}

/// A `POST /v1/payments` creating a 1000 usd charge with `reference` and key `key`.
pub fn create_request(app: &TestApp, reference: &str, key: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "reference": "{reference}"}}"#
    );
    format!(
        "POST /v1/payments HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer {}\r\n\
         Idempotency-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        app.api_key,
        body.len()
    )
    .into_bytes()
}
