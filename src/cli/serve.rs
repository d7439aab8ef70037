//! `scimd serve` (and `scimd` alone): open the store, make sure someone can sign in, serve
//! the HTTP API until SIGTERM or Ctrl-C, and purge long-deleted users in the background.

use std::sync::Arc;

use anyhow::Context;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use super::{detail, parse_lifetime, redact_url, DatabaseArgs, LogFormat, ServeArgs};
use crate::service::{Service, DEFAULT_TENANT};
use crate::{http, telemetry};

/// How long in-flight requests may take to finish after SIGTERM or Ctrl-C.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn serve(db: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    let retention = parse_lifetime(&args.deleted_retention).context("--deleted-retention")?;
    let audit_retention = parse_lifetime(&args.audit_retention).context("--audit-retention")?;
    let mailer = args.mail.mailer()?;
    let store = crate::open_store(db).await?;
    let listener =
        TcpListener::bind(&args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls::Tls::load(cert, key).map_err(anyhow::Error::msg)?),
        _ => None,
    };
    let metrics_listener = match &args.metrics_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?),
        None => None,
    };
    let filter_budget = args.filter_budget();
    let limits = args.http_limits(DRAIN_TIMEOUT);
    let mut state = crate::state(store, args.base_url)?;
    if let Some(secret) = state.service.bootstrap(args.bootstrap_token.as_deref()).await.map_err(detail)? {
        announce_token(&secret, args.log_format);
    }
    state.trust_forwarded_headers = args.trust_forwarded_headers;
    state.listener_tls = tls.is_some();
    state.service = state.service.with_filter_budget(filter_budget);
    if let Some(mailer) = mailer {
        tracing::info!(smtp = %mailer.server(), "results mail goes through this SMTP server");
        state.service = state.service.with_mailer(mailer);
    }
    state.rate = Arc::new(http::rate::RateLimiter::new(args.rate_limit, args.tenant_rate_limit));
    state.metrics_here = metrics_listener.is_none();
    if let (Some(metrics_listener), Some(addr)) = (metrics_listener, &args.metrics_listen) {
        tracing::info!(listen = %addr, "scimd serving metrics at http://{addr}/metrics");
        // It ends with the process: nothing there is worth draining.
        let metrics = http::metrics_router(state.clone());
        tokio::spawn(http::server::serve(metrics_listener, metrics, limits, None, std::future::pending()));
    }
    let service = state.service.clone();
    let purge = move || purge_expired(service.clone(), retention, audit_retention);
    tokio::spawn(supervise("purge of deleted users", RESTART_DELAY, purge));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = state.base_url.clone().unwrap_or_else(|| format!("{scheme}://{}/scim/v2", args.listen));
    let delivery_config = crate::service::delivery::DeliveryConfig::new(issuer);
    let delivery = state.service.clone();
    let deliver = move || crate::service::delivery::run(delivery.clone(), delivery_config.clone());
    tokio::spawn(supervise("event delivery", RESTART_DELAY, deliver));
    let release = state.service.clone();
    let release_memory = move || crate::memory::release_every(release.clone(), MEMORY_TRIM_PERIOD);
    tokio::spawn(supervise("memory release", RESTART_DELAY, release_memory));
    tokio::spawn(reload_on_sighup(tls.clone()));
    tracing::info!(listen = %args.listen, database = %redact_url(&db.database), "scimd serving SCIM at {scheme}://{}/scim/v2", args.listen);
    http::server::serve(listener, http::router(state), limits, tls, shutdown_signal()).await;
    tracing::info!("scimd stopped");
    Ok(())
}

/// How often memory freed by the database's C library goes back to the system.
const MEMORY_TRIM_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a failed background task rests before it is started again.
const RESTART_DELAY: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs a background task for the life of the process: one that ends or panics is logged and
/// started again after `delay`, never silently gone.
async fn supervise<F, Fut>(name: &'static str, delay: std::time::Duration, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match tokio::spawn(task()).await {
            Ok(()) => tracing::error!(task = name, "background task ended; restarting it"),
            Err(e) => tracing::error!(task = name, error = %e, "background task failed; restarting it"),
        }
        tokio::time::sleep(delay).await;
    }
}

/// Purges users deleted longer than `retention` ago, audit events older than
/// `audit_retention` and idle admin-center sessions, now and every hour.
async fn purge_expired(service: Service, retention: time::Duration, audit_retention: time::Duration) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let now = OffsetDateTime::now_utc();
        match now.checked_sub(retention) {
            None => tracing::warn!("the retention period reaches before year 1; nothing is old enough to purge"),
            Some(before) => match service.purge_deleted_before(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged users deleted longer ago than the retention period"),
                Err(e) => tracing::warn!(error = %e, "could not purge deleted users"),
            },
        }
        if let Some(before) = now.checked_sub(audit_retention) {
            match service.purge_audit_before(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged audit events older than the audit retention period"),
                Err(e) => tracing::warn!(error = %e, "could not purge old audit events"),
            }
        }
        match service.purge_console_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged admin-center sessions idle too long"),
            Err(e) => tracing::warn!(error = %e, "could not purge idle admin-center sessions"),
        }
    }
}

/// The first start's admin token, once on stderr: a plain message for a person, or one JSON
/// line that a log collector keeps whole.
fn announce_token(secret: &str, log_format: LogFormat) {
    let message = format!("created an admin token for tenant \"{DEFAULT_TENANT}\" (shown only this once)");
    match log_format {
        LogFormat::Text => eprintln!("scimd: {message}:\n{secret}"),
        LogFormat::Json => eprintln!(
            "{}",
            serde_json::json!({
                "timestamp": crate::scim::resource::format_datetime(OffsetDateTime::now_utc()),
                "level": "WARN",
                "fields": { "message": message, "tenant": DEFAULT_TENANT, "token": secret },
                "target": "scimd",
            })
        ),
    }
}

/// Reads the certificate and key again on each SIGHUP; a failed read keeps the one in use.
/// Without TLS a SIGHUP changes nothing (rather than end the process, its default).
async fn reload_on_sighup(tls: Option<http::tls::Tls>) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the certificate is reloaded only by a restart");
            return;
        };
        while hangups.recv().await.is_some() {
            match tls.as_ref().map(http::tls::Tls::reload) {
                None => tracing::info!(signal = "SIGHUP", "nothing to reload: no --tls-cert"),
                Some(Ok(())) => tracing::info!(signal = "SIGHUP", "TLS certificate reloaded"),
                Some(Err(e)) => {
                    tracing::error!(signal = "SIGHUP", error = %e, "TLS certificate not reloaded; the old one stays")
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tls;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!(signal = "SIGINT", "stopping: no new connections; finishing requests in flight");
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
                tracing::info!(signal = "SIGTERM", "stopping: no new connections; finishing requests in flight");
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_background_task_that_panics_is_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let task = move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first run fails");
                }
                std::future::pending::<()>().await
            }
        };
        let supervisor = tokio::spawn(super::supervise("test", Duration::from_millis(10), task));
        for _ in 0..200 {
            if runs.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        supervisor.abort();
        assert_eq!(runs.load(Ordering::SeqCst), 2, "restarted once after the panic, and running since");
    }
}
