//! SCIM events out of scimd: the audit log's resource writes as SETs (RFC 9967), read by
//! polling (`POST /Events`, RFC 8936) or pushed to subscriptions (RFC 8935, `delivery`).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::scim::error::{Result, ScimError};
use crate::scim::events::{self, Event, Write};
use crate::scim::schema::ResourceKind;
use crate::service::{Caller, Service};
use crate::store::{AuditEvent, DeadLetter, NewSubscription, Operation, PollStream, Scope, StoreError, Subscription};

/// Most SETs one poll returns, whatever `maxEvents` asks.
pub const MAX_POLL_EVENTS: u64 = 1000;
/// SETs a poll returns when `maxEvents` is absent.
const DEFAULT_POLL_EVENTS: u64 = 100;
/// Most acknowledgements (`ack` and `setErrs` together) one poll takes.
const MAX_ACKS: usize = 10_000;
/// Audit lines one poll reads at most before answering (with `moreAvailable`).
const POLL_SCAN: u64 = 5_000;
/// How long a poll without `returnImmediately` waits for an event to arrive.
const LONG_POLL: Duration = Duration::from_secs(15);
/// Subscriptions one tenant may have.
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// Pending events counted for a subscription's lag, at most.
const LAG_CAP: u64 = 100_000;
/// Subscriptions whose lag one scrape of the metrics reads, at most.
const MAX_LAG_SERIES: usize = 100;

/// The event an audit line stands for, if it is a resource write a receiver hears of.
pub fn event_of(line: &AuditEvent) -> Option<Event<'_>> {
    let kind = ResourceKind::from_name(&line.resource_type)?;
    let write = match line.operation {
        Operation::Create | Operation::Restore => Write::Create,
        Operation::Replace => Write::Put,
        Operation::Patch => Write::Patch,
        Operation::Delete => Write::Delete,
        Operation::Purge | Operation::Revoke | Operation::Mail => return None,
    };
    let at_millis = i64::try_from(line.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    Some(Event { seq: line.seq, at_millis, kind, id: &line.resource_id, write, changes: &line.changes })
}

/// A poll request (RFC 8936 §2.4): acknowledgements, errors (acknowledgements too), how many
/// SETs to return and whether to wait for them.
#[derive(Debug, Default)]
pub struct PollRequest {
    pub acks: Vec<String>,
    pub max_events: u64,
    pub return_immediately: bool,
}

impl PollRequest {
    pub fn parse(body: Value) -> Result<PollRequest> {
        let Value::Object(body) = body else {
            return Err(ScimError::invalid_syntax("send a JSON object such as {\"ack\": [], \"maxEvents\": 10}"));
        };
        let mut out = PollRequest { max_events: DEFAULT_POLL_EVENTS, return_immediately: false, acks: Vec::new() };
        for (key, value) in body {
            match key.as_str() {
                "ack" => {
                    let items = value
                        .as_array()
                        .ok_or_else(|| ScimError::invalid_value("ack must be an array of jti strings"))?;
                    for item in items {
                        let jti = item.as_str().ok_or_else(|| ScimError::invalid_value("ack holds jti strings"))?;
                        out.acks.push(jti.to_owned());
                    }
                }
                "setErrs" => {
                    let errs = value.as_object().ok_or_else(|| {
                        ScimError::invalid_value("setErrs must be an object of jti: {\"err\", \"description\"}")
                    })?;
                    for (jti, err) in errs {
                        tracing::warn!(jti = %jti, error = %err, "a poll receiver reported an error for an event");
                        out.acks.push(jti.clone());
                    }
                }
                "maxEvents" => {
                    out.max_events = value.as_u64().filter(|n| *n <= MAX_POLL_EVENTS).ok_or_else(|| {
                        ScimError::invalid_value(format!("maxEvents must be an integer from 0 to {MAX_POLL_EVENTS}"))
                    })?
                }
                "returnImmediately" => {
                    out.return_immediately = value
                        .as_bool()
                        .ok_or_else(|| ScimError::invalid_value("returnImmediately must be true or false"))?
                }
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown member {key:?}; a poll takes ack, setErrs, maxEvents and returnImmediately"
                    )))
                }
            }
        }
        if out.acks.len() > MAX_ACKS {
            return Err(ScimError::invalid_value(format!(
                "{} acknowledgements in one poll; send at most {MAX_ACKS}",
                out.acks.len()
            )));
        }
        Ok(out)
    }
}

/// A poll's answer: the pending SETs by `jti`, and whether more are waiting.
#[derive(Debug)]
pub struct PollResponse {
    pub sets: Map<String, Value>,
    pub more_available: bool,
}

/// A subscription as `/Admin/Subscriptions` shows it: with its lag, and for one subscription
/// its latest dead letters.
#[derive(Debug)]
pub struct SubscriptionView {
    pub subscription: Subscription,
    pub lag: u64,
    pub dead_letters: Vec<DeadLetter>,
    /// Shown once, in the answer that creates it.
    pub secret: Option<String>,
}

/// A subscription request: `endpoint`, optionally `events` (URIs; all when absent) and
/// `secret` (generated when absent).
fn parse_subscription(body: Value) -> Result<(NewSubscription, bool)> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax("send a JSON object with endpoint, and optionally events and secret"));
    };
    let (mut endpoint, mut types, mut secret) = (None, Vec::new(), None);
    for (key, value) in body {
        match key.as_str() {
            "schemas" => {}
            "endpoint" => endpoint = Some(check_endpoint(value.as_str().unwrap_or_default())?),
            "events" => {
                let items =
                    value.as_array().ok_or_else(|| ScimError::invalid_value("events must be an array of URIs"))?;
                for item in items {
                    let uri = item.as_str().unwrap_or_default();
                    let known = events::event_type(uri).ok_or_else(|| {
                        ScimError::invalid_value(format!(
                            "unknown event type {item}; scimd sends create, put, patch, delete, activate and \
                             deactivate ({})",
                            events::ALL.join(", ")
                        ))
                    })?;
                    if !types.contains(&known.to_string()) {
                        types.push(known.to_string());
                    }
                }
            }
            "secret" => {
                let s = value.as_str().unwrap_or_default();
                if !(32..=512).contains(&s.len()) {
                    return Err(ScimError::invalid_value(
                        "secret must be a string of 32 to 512 bytes (an HS256 key of at least 256 bits); \
                         leave it out to have one generated",
                    ));
                }
                secret = Some(s.to_owned());
            }
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "unknown attribute {key:?}; a subscription takes endpoint, events and secret"
                )))
            }
        }
    }
    let endpoint = endpoint
        .ok_or_else(|| ScimError::invalid_value("endpoint is required: the https:// URL that receives the events"))?;
    let generated = secret.is_none();
    let secret = secret.unwrap_or_else(crate::auth::generate_secret);
    let id = uuid::Uuid::new_v4().to_string();
    Ok((NewSubscription { id, endpoint, event_types: types, secret }, generated))
}

/// An endpoint URL events can be POSTed to: http or https, with a host, no credentials.
pub fn check_endpoint(text: &str) -> Result<String> {
    let bad = |why: &str| ScimError::invalid_value(format!("endpoint {text:?} {why}"));
    let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http:// or https:// URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold credentials; the events are signed with the subscription's secret"));
    }
    if text.len() > 2048 {
        return Err(bad("is longer than 2048 characters"));
    }
    Ok(url.to_string())
}

impl Service {
    /// `POST /Events`: takes the acknowledgements, then returns up to `maxEvents` pending
    /// SETs of the caller's tenant in commit order, waiting up to 15 s for one to arrive
    /// unless `returnImmediately`. Each token has its own stream.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn poll(&self, caller: &Caller, issuer: &str, request: &PollRequest) -> Result<PollResponse> {
        caller.principal.require(Scope::Read)?;
        let (tenant, token) = (caller.principal.tenant, caller.principal.token_id);
        let deadline = tokio::time::Instant::now() + LONG_POLL;
        let mut stream = self.store.poll_stream(tenant, token).await?;
        let mut acked: BTreeSet<i64> = stream.acked.iter().copied().collect();
        acked.extend(request.acks.iter().filter_map(|j| events::seq_of(j)).filter(|s| *s > stream.cursor));
        loop {
            let (next, response) = self.read_stream(tenant, &stream, &mut acked, issuer, request.max_events).await?;
            if next != stream {
                self.store.save_poll_stream(token, &next).await?;
                stream = next;
            }
            let waited_enough = request.return_immediately || request.max_events == 0;
            if !response.sets.is_empty() || waited_enough || tokio::time::Instant::now() >= deadline {
                return Ok(response);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Walks the stream from its cursor: the cursor moves over acknowledged lines and lines no
    /// receiver hears of while nothing before them is pending; pending SETs are collected.
    async fn read_stream(
        &self,
        tenant: crate::store::TenantId,
        stream: &PollStream,
        acked: &mut BTreeSet<i64>,
        issuer: &str,
        max: u64,
    ) -> Result<(PollStream, PollResponse)> {
        const CHUNK: u64 = 500;
        let mut cursor = stream.cursor;
        let mut after = cursor;
        let mut settled = true;
        let mut sets = Map::new();
        let mut more = false;
        let mut scanned = 0;
        'scan: while scanned < POLL_SCAN {
            let lines = self.store.audit_after(tenant, after, CHUNK).await?;
            for line in &lines {
                after = line.seq;
                scanned += 1;
                let event = event_of(line);
                let done = event.is_none() || acked.contains(&line.seq);
                if done {
                    if settled {
                        cursor = line.seq;
                    }
                    continue;
                }
                settled = false;
                if sets.len() as u64 >= max {
                    more = true;
                    break 'scan;
                }
                if let Some(event) = event {
                    let claims = event.claims(issuer, None, &|_| true);
                    sets.insert(event.jti(), Value::String(events::unsecured(&claims)));
                }
            }
            if (lines.len() as u64) < CHUNK {
                break;
            }
            more = scanned >= POLL_SCAN;
        }
        acked.retain(|s| *s > cursor);
        let next = PollStream { cursor, acked: acked.iter().copied().take(MAX_ACKS).collect() };
        Ok((next, PollResponse { sets, more_available: more }))
    }

    /// The caller's tenant's subscriptions.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn subscriptions(&self, caller: &Caller) -> Result<Vec<SubscriptionView>> {
        caller.principal.require(Scope::Admin)?;
        let mut out = Vec::new();
        for subscription in self.store.subscriptions(Some(caller.principal.tenant)).await? {
            out.push(self.view(subscription, 0).await?);
        }
        Ok(out)
    }

    /// One subscription with its latest dead letters.
    pub async fn subscription(&self, caller: &Caller, id: &str) -> Result<SubscriptionView> {
        caller.principal.require(Scope::Admin)?;
        let subscription = self.store.subscription(caller.principal.tenant, id).await.map_err(not_found(id))?;
        self.view(subscription, 100).await
    }

    /// Creates a subscription from a request body; it receives the events committed after it.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant))]
    pub async fn create_subscription(&self, caller: &Caller, body: Value) -> Result<SubscriptionView> {
        caller.principal.require(Scope::Admin)?;
        let (new, generated) = parse_subscription(body)?;
        let tenant = caller.principal.tenant;
        if self.store.subscriptions(Some(tenant)).await?.len() >= MAX_SUBSCRIPTIONS {
            return Err(ScimError::new(
                409,
                None,
                format!("the tenant has {MAX_SUBSCRIPTIONS} subscriptions, the most it may have; remove one first"),
            ));
        }
        let secret = new.secret.clone();
        let subscription = self.store.create_subscription(tenant, new, &caller.actor()).await?;
        let mut view = self.view(subscription, 0).await?;
        // A secret the client chose is not echoed back; a generated one is shown this once.
        view.secret = generated.then_some(secret);
        Ok(view)
    }

    pub async fn remove_subscription(&self, caller: &Caller, id: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        self.store.remove_subscription(caller.principal.tenant, id, &caller.actor()).await.map_err(not_found(id))
    }

    /// Every push subscription's undelivered events (at most `LAG_CAP` each, for at most
    /// `MAX_LAG_SERIES` subscriptions), for the metrics; empty if they cannot be read.
    pub(crate) async fn outbox_lags(&self) -> Vec<(String, i64)> {
        let subscriptions = match self.store.subscriptions(None).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read subscriptions for the metrics");
                return Vec::new();
            }
        };
        let mut lags = Vec::new();
        for s in subscriptions.into_iter().take(MAX_LAG_SERIES) {
            match self.store.resource_writes_after(s.tenant, s.cursor, LAG_CAP).await {
                Ok(lag) => lags.push((s.id, i64::try_from(lag).unwrap_or(i64::MAX))),
                Err(e) => tracing::warn!(error = %e, subscription = %s.id, "cannot read a subscription's lag"),
            }
        }
        lags
    }

    async fn view(&self, subscription: Subscription, dead_letters: u64) -> Result<SubscriptionView> {
        let lag = self.store.resource_writes_after(subscription.tenant, subscription.cursor, LAG_CAP).await?;
        let dead_letters = match dead_letters {
            0 => Vec::new(),
            n => self.store.dead_letters(&subscription.id, n).await?,
        };
        Ok(SubscriptionView { subscription, lag, dead_letters, secret: None })
    }
}

fn not_found(id: &str) -> impl Fn(StoreError) -> ScimError + '_ {
    move |e| match e {
        StoreError::NotFound => ScimError::not_found("Subscription", id),
        e => e.into(),
    }
}

/// The JSON of a poll's answer (RFC 8936 §2.4.2).
pub fn poll_json(response: PollResponse) -> Value {
    json!({ "sets": response.sets, "moreAvailable": response.more_available })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_requests_are_checked() {
        let ok = PollRequest::parse(json!({"ack": ["1-2"], "setErrs": {"3-4": {"err": "x"}}, "maxEvents": 5})).unwrap();
        assert_eq!(ok.acks, ["1-2", "3-4"]);
        assert_eq!(ok.max_events, 5);
        assert!(!ok.return_immediately);
        for bad in
            [json!([]), json!({"maxEvents": 1001}), json!({"maxEvents": -1}), json!({"ack": "1-2"}), json!({"x": 1})]
        {
            assert_eq!(PollRequest::parse(bad.clone()).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn endpoints_must_be_plain_http_urls() {
        assert_eq!(check_endpoint("https://rp.example.com/events").unwrap(), "https://rp.example.com/events");
        for bad in ["", "ftp://x/y", "https://user:pw@rp.example.com/", "not a url", "https://"] {
            assert_eq!(check_endpoint(bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn subscriptions_name_known_event_types_and_strong_secrets() {
        let (new, generated) = parse_subscription(json!({"endpoint": "https://rp.example.com/e"})).unwrap();
        assert!(generated && new.secret.len() >= 32 && new.event_types.is_empty());
        let (new, generated) = parse_subscription(json!({
            "endpoint": "https://rp.example.com/e",
            "events": [events::DEACTIVATE],
            "secret": "0123456789abcdef0123456789abcdef",
        }))
        .unwrap();
        assert!(!generated);
        assert_eq!(new.event_types, [events::DEACTIVATE]);
        for bad in [
            json!({}),
            json!({"endpoint": "https://rp.example.com/e", "events": ["urn:x"]}),
            json!({"endpoint": "https://rp.example.com/e", "secret": "short"}),
        ] {
            assert_eq!(parse_subscription(bad.clone()).unwrap_err().status, 400, "{bad}");
        }
    }
}
