//! The listener: accepts connections up to a limit and serves each with hyper's HTTP/1 (over
//! TLS when configured), with a header-read timeout that also closes idle keep-alive
//! connections, and drains on shutdown.
//!
//! axum's own `serve` has neither limit; a client trickling one header byte a second would
//! otherwise hold its connection forever.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::http::tls::Tls;

/// What one client connection may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers must arrive within this time after the connection is ready for
    /// them, and an idle keep-alive connection is closed after it.
    pub header_timeout: Duration,
    /// A request's body must arrive within this time.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// How long requests in flight may take to finish once shutdown begins.
    pub drain: Duration,
}

/// Serves `app` on `listener` (with TLS when `tls` is given) until `shutdown` completes, then
/// lets requests in flight finish for at most `limits.drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let body_timeout = limits.body_timeout;
        let service = TowerToHyperService::new(app.clone().map_request(move |req: Request<Incoming>| {
            let mut req = req.map(|b| Body::new(TimeoutBody::new(body_timeout, b)));
            // Who connected, for the audit log (and behind a proxy, the proxy).
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            req
        }));
        // Watched from its accept on, so a connection still in its TLS handshake is drained too.
        let (graceful, header_timeout) = (graceful.watcher(), limits.header_timeout);
        match &tls {
            None => {
                tokio::spawn(serve_connection(stream, service, header_timeout, graceful, slot));
            }
            Some(tls) => {
                let acceptor = tls.acceptor();
                tokio::spawn(async move {
                    // The handshake is bounded like a request's headers: a client that opens
                    // connections and never finishes one holds no slot for long.
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, service, header_timeout, graceful, slot).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            seconds = limits.drain.as_secs(),
            "requests still running after the drain time; stopping anyway"
        );
    }
}

/// Serves one connection's requests until it closes, then frees its slot.
async fn serve_connection<I, S>(
    io: I,
    service: S,
    header_timeout: Duration,
    graceful: Watcher,
    slot: tokio::sync::OwnedSemaphorePermit,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = graceful.watch(connection).await {
        tracing::debug!(error = %e, "connection closed with an error");
    }
    drop(slot);
}
