//! Rate limits: a token bucket per token and, optionally, one per tenant. A request over
//! either gets 429 with `Retry-After`. Off unless configured.
//!
//! Buckets live in this process: behind a load balancer each process enforces its share.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::auth::Principal;
use crate::scim::error::ScimError;

/// Requests per second per token (a token's own `rate_limit` wins) and per tenant; `None`
/// is no limit. A bucket holds one second's worth, so a client may burst that many at once.
#[derive(Debug, Default)]
pub struct RateLimiter {
    per_token: Option<u32>,
    per_tenant: Option<u32>,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Token(i64),
    Tenant(i64),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_token: Option<u32>, per_tenant: Option<u32>) -> Self {
        RateLimiter {
            per_token: per_token.filter(|r| *r > 0),
            per_tenant: per_tenant.filter(|r| *r > 0),
            ..Default::default()
        }
    }

    /// Takes one request from the caller's buckets, or says when to come back.
    pub fn check(&self, p: &Principal) -> Result<(), ScimError> {
        self.check_at(p, Instant::now())
    }

    fn check_at(&self, p: &Principal, now: Instant) -> Result<(), ScimError> {
        let token_rate = p.rate_limit.filter(|r| *r > 0).or(self.per_token);
        if token_rate.is_none() && self.per_tenant.is_none() {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let limits =
            [(Key::Token(p.token_id.0), token_rate, "token"), (Key::Tenant(p.tenant.0), self.per_tenant, "tenant")];
        // Both buckets must have room before either is drawn from.
        for (key, rate, what) in limits {
            let Some(rate) = rate else { continue };
            let bucket = refill(buckets.get(&key).copied(), rate, now);
            if bucket.tokens < 1.0 {
                let wait = ((1.0 - bucket.tokens) / f64::from(rate)).ceil().max(1.0) as u64;
                return Err(ScimError::too_many_requests(
                    format!("this {what} may make {rate} requests a second; retry after {wait} s (Retry-After)"),
                    wait,
                ));
            }
        }
        for (key, rate, _) in limits {
            let Some(rate) = rate else { continue };
            let mut bucket = refill(buckets.get(&key).copied(), rate, now);
            bucket.tokens -= 1.0;
            buckets.insert(key, bucket);
        }
        Ok(())
    }
}

/// The bucket as it stands at `now`: full when new, refilled at `rate` a second, never above
/// one second's worth.
fn refill(bucket: Option<Bucket>, rate: u32, now: Instant) -> Bucket {
    let capacity = f64::from(rate);
    match bucket {
        None => Bucket { tokens: capacity, at: now },
        Some(b) => {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            Bucket { tokens: (b.tokens + elapsed * capacity).min(capacity), at: now }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::service::TenantId;

    fn principal(token_id: i64, tenant: i64, rate_limit: Option<u32>) -> Principal {
        Principal {
            tenant: TenantId(tenant),
            tenant_name: "t".into(),
            token_id: crate::service::TokenId(token_id),
            token_name: "t".into(),
            scopes: vec![],
            rate_limit,
        }
    }

    #[test]
    fn a_token_bursts_its_rate_then_waits_and_refills() {
        let limiter = RateLimiter::new(Some(3), None);
        let p = principal(1, 1, None);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check_at(&p, t0).unwrap();
        }
        let e = limiter.check_at(&p, t0).unwrap_err();
        assert_eq!((e.status, e.retry_after), (429, Some(1)));
        assert!(e.detail.contains("this token may make 3 requests a second"), "{}", e.detail);
        limiter.check_at(&p, t0 + Duration::from_millis(400)).unwrap();
        // Another token has its own bucket.
        limiter.check_at(&principal(2, 1, None), t0).unwrap();
    }

    #[test]
    fn a_tokens_own_rate_wins_and_the_tenant_bucket_is_shared() {
        let limiter = RateLimiter::new(Some(1), Some(4));
        let t0 = Instant::now();
        let fast = principal(1, 7, Some(100));
        for _ in 0..4 {
            limiter.check_at(&fast, t0).unwrap();
        }
        let e = limiter.check_at(&principal(2, 7, None), t0).unwrap_err();
        assert!(e.detail.contains("this tenant may make 4"), "{}", e.detail);
        limiter.check_at(&principal(3, 8, None), t0).unwrap();
    }

    #[test]
    fn without_limits_nothing_is_counted() {
        let limiter = RateLimiter::new(None, None);
        for _ in 0..1000 {
            limiter.check(&principal(1, 1, None)).unwrap();
        }
        assert!(limiter.buckets.lock().unwrap().is_empty());
    }
}
