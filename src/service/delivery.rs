//! Push delivery (RFC 8935): a background task POSTs each subscription's events, signed, in
//! commit order, retrying a failing one with exponential backoff before giving up on it.
//!
//! At least once: the cursor moves only after the receiver accepted, so a crash resends the
//! last events, with the same `jti`, never skips one.

use std::time::Duration;

use time::OffsetDateTime;

use crate::scim::events;
use crate::service::events::event_of;
use crate::service::metrics::DeliveryOutcome;
use crate::service::Service;
use crate::store::{Delivery, Subscription};

/// How delivery paces itself; the defaults suit a server, tests shorten them.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The `iss` of every SET: the server's public base URL.
    pub issuer: String,
    /// How often subscriptions are looked at for new events.
    pub tick: Duration,
    /// The first retry's delay; each further one doubles it, up to `max_delay`.
    pub first_retry: Duration,
    pub max_delay: Duration,
    /// Attempts at one event before it is given up on (dead-lettered).
    pub attempts: i64,
    /// How long one POST may take.
    pub timeout: Duration,
    /// This process, as subscription leases name it.
    pub owner: String,
}

impl DeliveryConfig {
    pub fn new(issuer: String) -> DeliveryConfig {
        DeliveryConfig {
            issuer,
            tick: Duration::from_millis(250),
            first_retry: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            attempts: 12,
            timeout: Duration::from_secs(10),
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Events sent per subscription per round, so that one busy subscription does not hold the
/// others back.
const BATCH: u64 = 100;
/// How long a process keeps a subscription to itself after taking it: renewed while it
/// delivers, and what a crashed process delays the subscription's delivery by at most.
const LEASE: Duration = Duration::from_secs(15);
/// A lease with less than this left is renewed before the next POST.
const RENEW_BEFORE: Duration = Duration::from_secs(10);

/// Delivers every subscription's events until the process ends.
pub async fn run(service: Service, config: DeliveryConfig) {
    let client = match reqwest::Client::builder().timeout(config.timeout).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client for event delivery");
            return;
        }
    };
    let mut busy = false;
    loop {
        // A round that left events waiting is followed at once; otherwise wait for new ones.
        if !busy {
            tokio::time::sleep(config.tick).await;
        }
        busy = false;
        let subscriptions = match service.store.subscriptions(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read subscriptions");
                continue;
            }
        };
        let now = OffsetDateTime::now_utc();
        let mut round = tokio::task::JoinSet::new();
        for subscription in subscriptions {
            if subscription.retry_at.is_some_and(|t| t > now) {
                continue;
            }
            let (service, client, config) = (service.clone(), client.clone(), config.clone());
            round.spawn(async move {
                let id = subscription.id.clone();
                match deliver(&service, &client, &config, subscription).await {
                    Ok(more) => more,
                    Err(e) => {
                        tracing::warn!(subscription = %id, error = %e, "event delivery stopped for this round");
                        false
                    }
                }
            });
        }
        while let Some(more) = round.join_next().await {
            busy |= more.unwrap_or(false);
        }
    }
}

/// One round for one subscription: up to `BATCH` events after its cursor, in order, stopping
/// at the first failure. True when it delivered a whole batch, so more may be waiting.
async fn deliver(
    service: &Service,
    client: &reqwest::Client,
    config: &DeliveryConfig,
    subscription: Subscription,
) -> crate::store::Result<bool> {
    let store = &service.store;
    let lines = store.audit_after(subscription.tenant, subscription.cursor, BATCH).await?;
    let mut leased_until = OffsetDateTime::now_utc() + LEASE;
    if lines.is_empty() || !store.lease_subscription(&subscription.id, &config.owner, leased_until).await? {
        return Ok(false);
    }
    // Read again under the lease: another process may have moved the cursor meanwhile.
    let tenant = subscription.tenant;
    let subscription = store.subscription(tenant, &subscription.id).await?;
    let lines = store.audit_after(tenant, subscription.cursor, BATCH).await?;
    let wanted = |t: &str| subscription.event_types.is_empty() || subscription.event_types.iter().any(|w| w == t);
    let (mut cursor, mut count) = (subscription.cursor, 0);
    let mut outcome = None;
    for line in &lines {
        let Some(event) = event_of(line) else {
            cursor = line.seq;
            continue;
        };
        if !event.types().iter().any(|t| wanted(t)) {
            cursor = line.seq;
            continue;
        }
        if leased_until - OffsetDateTime::now_utc() < RENEW_BEFORE {
            leased_until = OffsetDateTime::now_utc() + LEASE;
            if !store.lease_subscription(&subscription.id, &config.owner, leased_until).await? {
                break;
            }
        }
        let claims = event.claims(&config.issuer, Some(&subscription.endpoint), &wanted);
        let set = events::sign_hs256(&claims, subscription.secret.as_bytes());
        match post(client, &subscription.endpoint, set).await {
            Ok(()) => {
                cursor = line.seq;
                count += 1;
            }
            Err(Refusal::Permanent(error)) => {
                outcome = Some(Delivery::GivenUp { seq: line.seq, jti: event.jti(), error });
                break;
            }
            Err(Refusal::Transient(error)) => {
                // A head event new this round starts counting afresh.
                let attempts = if cursor > subscription.cursor { 1 } else { subscription.attempts + 1 };
                outcome = Some(if attempts >= config.attempts {
                    let error = format!("{error} (gave up after {attempts} attempts)");
                    Delivery::GivenUp { seq: line.seq, jti: event.jti(), error }
                } else {
                    let delay = backoff(config, attempts);
                    Delivery::Failed { error, attempts, retry_at: OffsetDateTime::now_utc() + delay }
                });
                break;
            }
        }
    }
    if cursor > subscription.cursor {
        store.record_delivery(&subscription.id, &Delivery::Delivered { cursor, count }).await?;
        service.metrics.event_deliveries(DeliveryOutcome::Delivered, u64::try_from(count).unwrap_or(0));
    }
    if let Some(outcome) = outcome {
        match &outcome {
            Delivery::GivenUp { jti, error, .. } => {
                tracing::warn!(subscription = %subscription.id, jti = %jti, error = %error, "event given up on")
            }
            Delivery::Failed { error, attempts, .. } => {
                tracing::info!(subscription = %subscription.id, attempts, error = %error, "event delivery failed; will retry")
            }
            Delivery::Delivered { .. } => {}
        }
        store.record_delivery(&subscription.id, &outcome).await?;
        let counted = match &outcome {
            Delivery::GivenUp { .. } => DeliveryOutcome::GivenUp,
            Delivery::Failed { .. } => DeliveryOutcome::Failed,
            Delivery::Delivered { .. } => DeliveryOutcome::Delivered,
        };
        service.metrics.event_deliveries(counted, 1);
        return Ok(false);
    }
    Ok(lines.len() as u64 == BATCH)
}

/// Why a receiver did not take an event.
enum Refusal {
    /// It said the SET is wrong (RFC 8935 §2.3): sending it again will not help.
    Permanent(String),
    /// It could not be reached or failed: try again later.
    Transient(String),
}

async fn post(client: &reqwest::Client, endpoint: &str, set: String) -> Result<(), Refusal> {
    let response = client
        .post(endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(set)
        .send()
        .await
        .map_err(|e| Refusal::Transient(format!("cannot reach the endpoint: {}", without_url(&e))))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // Only the start of the body: a receiver's error page may be large.
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    let error = format!("the endpoint answered {status}: {body}");
    if status == reqwest::StatusCode::BAD_REQUEST {
        Err(Refusal::Permanent(error))
    } else {
        Err(Refusal::Transient(error))
    }
}

/// reqwest's error text without the URL, which the subscription already names.
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(i) = e.find(" for url (") {
        e.truncate(i);
    }
    e
}

/// The wait before attempt `attempts + 1`: the first delay doubled each time, capped.
fn backoff(config: &DeliveryConfig, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
    config.first_retry.saturating_mul(1 << doublings).min(config.max_delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let config = DeliveryConfig::new("i".into());
        let delays: Vec<u64> = (1..=12).map(|a| backoff(&config, a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }
}
