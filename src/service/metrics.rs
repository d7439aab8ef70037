//! Prometheus metrics: the counters and histograms requests, rate limits, event delivery and
//! imports record, and the text a scrape reads, with the store's pool read at that moment.
//!
//! Recording is a hash of `&str` labels and an atomic add: no I/O and no allocation once a
//! label set has been seen. One registry per `Service`, so each server counts its own.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::store::{LicenseSeats, PoolStats};

/// Most Licenses whose seats one scrape of the metrics listener reports, so that a scrape
/// costs a bounded query and a bounded answer whatever the tenants hold.
pub const MAX_LICENSE_SERIES: u64 = 1000;

/// The route label of a request no route matched: one value, so that scanners probing
/// random paths cannot grow the series without bound.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Every series scimd exports.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    rate_limited: IntCounter,
    query_cancellations: IntCounter,
    event_deliveries: IntCounterVec,
    import_rows: IntCounterVec,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    /// Tenant data, in a registry of its own that only the metrics listener renders.
    tenants: Registry,
    seats_consumed: IntGaugeVec,
    seats_available: IntGaugeVec,
    outbox_lag: IntGaugeVec,
}

/// How an event delivery attempt ended, as `scimd_event_deliveries_total{outcome}` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver took the event.
    Delivered,
    /// It could not be reached or failed; the event is tried again later.
    Failed,
    /// It refused the event, or failed too often: the event is skipped.
    GivenUp,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::GivenUp => "given_up",
        }
    }
}

impl Metrics {
    /// The series, registered; fails only if a name or label below is malformed.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("scimd_http_requests_total", "HTTP requests answered, by method, route template and status."),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "scimd_http_request_duration_seconds",
                "Time from a request's arrival to its response's headers, by method and route template.",
            ),
            &["method", "route"],
        )?;
        let rate_limited = IntCounter::new(
            "scimd_rate_limited_total",
            "Requests refused with 429 by a token's or tenant's rate limit.",
        )?;
        let query_cancellations = IntCounter::new(
            "scimd_query_cancellations_total",
            "Database queries cancelled for running past --query-timeout.",
        )?;
        let event_deliveries = IntCounterVec::new(
            Opts::new(
                "scimd_event_deliveries_total",
                "SCIM events pushed to subscriptions, by outcome (delivered, failed, given_up).",
            ),
            &["outcome"],
        )?;
        let import_rows = IntCounterVec::new(
            Opts::new(
                "scimd_import_rows_total",
                "CSV import rows, by outcome (created, updated, unchanged, refused); dry runs are not counted.",
            ),
            &["outcome"],
        )?;
        let pool_in_use = IntGauge::new("scimd_db_connections_in_use", "Database connections serving a query.")?;
        let pool_idle =
            IntGauge::new("scimd_db_connections_idle", "Database connections open and waiting in the pool.")?;
        let pool_max =
            IntGauge::new("scimd_db_connections_max", "Database connections the pool may open (--max-connections).")?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(query_cancellations.clone()))?;
        registry.register(Box::new(event_deliveries.clone()))?;
        registry.register(Box::new(import_rows.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        let tenants = Registry::new();
        let seats_consumed = IntGaugeVec::new(
            Opts::new(
                "scimd_license_seats_consumed",
                "Seats of a License assigned to users, by tenant and part number.",
            ),
            &["tenant", "part_number"],
        )?;
        let seats_available = IntGaugeVec::new(
            Opts::new("scimd_license_seats_available", "Seats of a License still free, by tenant and part number."),
            &["tenant", "part_number"],
        )?;
        tenants.register(Box::new(seats_consumed.clone()))?;
        let outbox_lag = IntGaugeVec::new(
            Opts::new(
                "scimd_event_outbox_lag",
                "Events committed but not yet delivered to a push subscription (counted up to 100,000).",
            ),
            &["subscription"],
        )?;
        tenants.register(Box::new(seats_available.clone()))?;
        tenants.register(Box::new(outbox_lag.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            rate_limited,
            query_cancellations,
            event_deliveries,
            import_rows,
            pool_in_use,
            pool_idle,
            pool_max,
            tenants,
            seats_consumed,
            seats_available,
            outbox_lag,
        })
    }

    /// One answered request. `route` is the matched route's template (`/scim/v2/Users/{id}`),
    /// never the path, or `UNMATCHED_ROUTE`.
    pub fn http_request(&self, method: &str, route: &str, status: &str, elapsed: Duration) {
        self.http_requests.with_label_values(&[method, route, status]).inc();
        self.http_duration.with_label_values(&[method, route]).observe(elapsed.as_secs_f64());
    }

    /// One request refused by a rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// `count` events that ended delivery this way.
    pub fn event_deliveries(&self, outcome: DeliveryOutcome, count: u64) {
        if count > 0 {
            self.event_deliveries.with_label_values(&[outcome.as_str()]).inc_by(count);
        }
    }

    /// `count` import rows that ended with this status.
    pub fn import_rows(&self, outcome: &str, count: u64) {
        if count > 0 {
            self.import_rows.with_label_values(&[outcome]).inc_by(count);
        }
    }

    /// The text format of every series, with the pool and the cancellations as they are now;
    /// with `tenants` (the metrics listener only), the Licenses' seats and each push
    /// subscription's lag too.
    pub(crate) fn render(&self, pool: PoolStats, cancelled_queries: u64, tenants: Option<TenantSeries>) -> String {
        self.pool_in_use.set(i64::from(pool.size.saturating_sub(pool.idle)));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_max.set(i64::from(pool.max));
        // The store counts cancellations for the process; this counter catches up with it.
        let seen = self.query_cancellations.get();
        if cancelled_queries > seen {
            self.query_cancellations.inc_by(cancelled_queries - seen);
        }
        let mut families = self.registry.gather();
        if let Some(TenantSeries { seats, lags }) = tenants {
            // Filled afresh each time, so a deleted License's or subscription's series goes away.
            self.seats_consumed.reset();
            self.seats_available.reset();
            self.outbox_lag.reset();
            for (subscription, lag) in lags {
                self.outbox_lag.with_label_values(&[subscription.as_str()]).set(*lag);
            }
            for l in seats {
                let labels = [l.tenant.as_str(), l.part_number.as_str()];
                self.seats_consumed.with_label_values(&labels).set(l.consumed);
                self.seats_available.with_label_values(&labels).set(l.seats - l.consumed);
            }
            families.extend(self.tenants.gather());
        }
        let mut out = Vec::new();
        if let Err(e) = prometheus::TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "cannot render the metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The series read from the database at scrape time, for the metrics listener alone: they
/// name tenants and their Licenses and subscriptions.
pub(crate) struct TenantSeries<'a> {
    pub seats: &'a [LicenseSeats],
    /// Each push subscription's id and its undelivered events.
    pub lags: &'a [(String, i64)],
}

/// The media type of `render`'s text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_render_with_their_labels_and_the_pool_as_read() {
        let m = Metrics::new().unwrap();
        m.http_request("GET", "/scim/v2/Users/{id}", "200", Duration::from_millis(3));
        m.http_request("GET", "/scim/v2/Users/{id}", "200", Duration::from_millis(3));
        m.event_deliveries(DeliveryOutcome::Delivered, 2);
        let text = m.render(PoolStats { size: 3, idle: 1, max: 8 }, 0, None);
        assert!(
            text.contains(r#"scimd_http_requests_total{method="GET",route="/scim/v2/Users/{id}",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"scimd_event_deliveries_total{outcome="delivered"} 2"#), "{text}");
        assert!(text.contains("scimd_db_connections_in_use 2\n"), "{text}");
        assert!(text.contains("scimd_db_connections_max 8\n"), "{text}");
        assert!(text.contains("scimd_query_cancellations_total 0\n"), "{text}");
    }
}
