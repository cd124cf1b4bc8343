//! The metrics endpoint's socket and server: [`MetricsEndpoint`] is a listener bound before the
//! run (so `--metrics-listen 127.0.0.1:0` works and the bound address can be printed, and a
//! port already taken fails before any load is sent), and [`MetricsEndpoint::serve`] answers
//! `GET /metrics` from a [`LiveBoard`] until stopped; any other path is a 404.
//!
//! hyper (1.x, HTTP/1 only) is already in the workspace for gateway-sim, and reqwest already
//! builds it into loadgen: a tiny server on it adds no crate to the build.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::board::LiveBoard;
use super::exposition;

/// Scrapes in progress when the endpoint stops get this long to finish.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The path served; every other answers 404.
pub const METRICS_PATH: &str = "/metrics";

/// A listening socket for the metrics endpoint, bound and not yet served.
#[derive(Debug)]
pub struct MetricsEndpoint {
    listener: TcpListener,
}

impl MetricsEndpoint {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(MetricsEndpoint {
            listener: TcpListener::bind(addr).await?,
        })
    }

    /// The address bound, with the port chosen for port 0.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `board` at [`METRICS_PATH`] until [`MetricsServer::stop`] (or until the
    /// handle is dropped).
    pub fn serve(self, board: LiveBoard) -> MetricsServer {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(self.listener, board, stopped));
        MetricsServer { stop, task }
    }
}

/// The running endpoint.
pub struct MetricsServer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Stops accepting, lets scrapes in progress finish (briefly), closes every connection.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(listener: TcpListener, board: LiveBoard, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, board.clone(), stopped.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            // A send or a dropped handle: either way, stop.
            _ = stopped.changed() => break,
        }
    }
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(STOP_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(stream: TcpStream, board: LiveBoard, mut stopped: watch::Receiver<bool>) {
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        let board = board.clone();
        async move { Ok::<_, Infallible>(answer(&board, request.method(), request.uri().path())) }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped.changed() => {
            // A scraper keeps its connection open between scrapes: close it once the answer
            // in progress, if any, is out.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The answer to one request: the page at [`METRICS_PATH`], 405 for a method other than
/// `GET` or `HEAD` there, 404 anywhere else.
fn answer(board: &LiveBoard, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if path != METRICS_PATH {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        );
    }
    if method != Method::GET && method != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    let text = exposition::render(&board.sample());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(exposition::CONTENT_TYPE),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_metrics_is_served() {
        let board = LiveBoard::new("run", "t", "embedded");
        let ok = answer(&board, &Method::GET, "/metrics");
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(exposition::CONTENT_TYPE.as_bytes())
        );
        assert_eq!(
            answer(&board, &Method::GET, "/").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            answer(&board, &Method::GET, "/metrics/").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            answer(&board, &Method::POST, "/metrics").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn a_stopped_endpoint_closes_its_socket() {
        let endpoint = MetricsEndpoint::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("binds");
        let addr = endpoint.local_addr().expect("an address");
        let server = endpoint.serve(LiveBoard::new("run", "t", "embedded"));
        let body = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("answers")
            .text()
            .await
            .expect("a body");
        assert!(body.contains("loadgen_check_done 0"), "{body}");
        server.stop().await;
        assert!(
            reqwest::get(format!("http://{addr}/metrics"))
                .await
                .is_err(),
            "nothing listens after stop"
        );
    }
}
