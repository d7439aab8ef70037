//! SCIM events out of scimd: polling (RFC 8936) drains a token's queue exactly, and push
//! delivery (RFC 8935) reaches a real receiver on 127.0.0.1 signed, in commit order per
//! resource, through failures, and across a SIGKILL of the real binary.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use scimd::service::delivery::{self, DeliveryConfig};
use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, Process, TestApp, BIN, PATCH_OP, USER};

const CREATE: &str = "urn:ietf:params:SCIM:event:prov:create:notice";
const PATCH: &str = "urn:ietf:params:SCIM:event:prov:patch:notice";
const DELETE: &str = "urn:ietf:params:SCIM:event:prov:delete";
const DEACTIVATE: &str = "urn:ietf:params:SCIM:event:prov:deactivate";
const SECRET: &str = "a-subscription-secret-of-32-bytes!!";

/// The claims of a compact JWS, unverified.
fn claims(set: &str) -> Value {
    let payload = set.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

/// The claims of a SET whose HS256 signature is `secret`'s, checked here without scimd's code.
fn verified(set: &str, secret: &str) -> Value {
    let (input, signature) = set.rsplit_once('.').expect("signed");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(input.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("HS256"), Some("secevent+jwt")));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).expect("signature verifies");
    claims(set)
}

/// What a receiver heard of a resource: (`sub_id.uri`, event types) in arrival order.
fn summary(claims: &Value) -> (String, Vec<String>) {
    let uri = claims["sub_id"]["uri"].as_str().unwrap().to_owned();
    (uri, claims["events"].as_object().unwrap().keys().cloned().collect())
}

async fn create_user(app: &TestApp, name: &str) -> String {
    let res = app.post("/Users", json!({"schemas": [USER], "userName": name, "active": true})).await;
    assert_eq!(res.status(), 201);
    id(&res.json::<Value>().await.unwrap()).to_owned()
}

async fn patch_user(app: &TestApp, uid: &str, path: &str, value: Value) {
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]});
    assert_eq!(app.send(Method::PATCH, &format!("/Users/{uid}"), Some(body)).await.status(), 200);
}

async fn poll(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.send_as(token, Method::POST, "/Events", Some(body)).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    res.json().await.unwrap()
}

fn jtis(answer: &Value) -> Vec<String> {
    answer["sets"].as_object().unwrap().keys().cloned().collect()
}

/// An application's endpoint on 127.0.0.1: it records every SET it accepts, and answers
/// each request with what `answer` says for it (by its number, from 0, and its claims).
#[derive(Clone)]
struct Receiver {
    url: String,
    accepted: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<usize>>,
}

type Answer = Arc<dyn Fn(usize, &Value) -> u16 + Send + Sync>;

impl Receiver {
    async fn start(answer: Answer) -> Receiver {
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(0));
        let (kept, counted) = (accepted.clone(), requests.clone());
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (kept, counted, answer) = (kept.clone(), counted.clone(), answer.clone());
                async move {
                    assert_eq!(headers["content-type"], "application/secevent+jwt");
                    let n = {
                        let mut c = counted.lock().unwrap();
                        *c += 1;
                        *c - 1
                    };
                    let status = answer(n, &claims(&body));
                    if status == 202 {
                        kept.lock().unwrap().push(body);
                    }
                    let code = axum::http::StatusCode::from_u16(status).unwrap();
                    (code, axum::Json(json!({"err": "invalid_request", "description": "refused by the test"})))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, accepted, requests }
    }

    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }

    /// Waits (at most 20 s) until `n` SETs were accepted.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..400 {
            if self.accepted().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = self.accepted();
        assert!(got.len() >= n, "the receiver got {} of {n} events", got.len());
        got
    }
}

fn accept_all() -> Answer {
    Arc::new(|_, _| 202)
}

/// Delivery as `scimd serve` runs it, paced for a test.
fn start_delivery(app: &TestApp) -> tokio::task::JoinHandle<()> {
    let service = scimd::state(app.store.clone(), None).unwrap().service;
    let mut config = DeliveryConfig::new("https://scim.example.com/scim/v2".into());
    config.tick = Duration::from_millis(20);
    config.first_retry = Duration::from_millis(20);
    config.max_delay = Duration::from_millis(100);
    config.attempts = 8;
    config.timeout = Duration::from_secs(5);
    tokio::spawn(delivery::run(service, config))
}

async fn subscribe(app: &TestApp, endpoint: &str, events: Value) -> Value {
    let body = json!({"endpoint": endpoint, "events": events, "secret": SECRET});
    let res = app.post("/Admin/Subscriptions", body).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn subscription(app: &TestApp, sid: &str) -> Value {
    let res = app.get(&format!("/Admin/Subscriptions/{sid}")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

behaviour! {
    async fn polling_with_acknowledgements_drains_the_queue_exactly(app: TestApp) {
        let reader = app.token_for("default", &[Scope::Read]).await;
        let ann = create_user(&app, "ann@contoso.com").await;
        let bob = create_user(&app, "bob@contoso.com").await;
        patch_user(&app, &ann, "active", json!(false)).await;
        assert_eq!(app.send(Method::DELETE, &format!("/Users/{bob}"), None).await.status(), 204);
        let expected = [
            (format!("/Users/{ann}"), vec![CREATE]),
            (format!("/Users/{bob}"), vec![CREATE]),
            (format!("/Users/{ann}"), vec![PATCH, DEACTIVATE]),
            (format!("/Users/{bob}"), vec![DELETE]),
        ];

        // Unacknowledged SETs come back; acknowledgements may come in any order.
        let first = poll(&app, &reader, json!({"maxEvents": 2, "returnImmediately": true})).await;
        let (a, b) = (jtis(&first)[0].clone(), jtis(&first)[1].clone());
        assert_eq!(first["moreAvailable"], true);
        let again = poll(&app, &reader, json!({"maxEvents": 2, "returnImmediately": true})).await;
        assert_eq!(jtis(&again), [a.clone(), b.clone()], "nothing acknowledged, the same SETs");
        let next = poll(&app, &reader, json!({"ack": [b], "maxEvents": 2, "returnImmediately": true})).await;
        let c = jtis(&next)[1].clone();
        assert_eq!(jtis(&next)[0], a, "a is still pending");
        let rest = poll(&app, &reader, json!({"ack": [a, c], "maxEvents": 10, "returnImmediately": true})).await;
        let d = jtis(&rest);
        assert_eq!(d.len(), 1);
        assert_eq!(rest["moreAvailable"], false);
        let done = poll(&app, &reader, json!({"ack": d, "returnImmediately": true})).await;
        assert_eq!(done["sets"], json!({}), "drained");

        // Every event once, in commit order, as unsecured SETs naming the resource.
        let mut seen: Vec<Value> = first["sets"].as_object().unwrap().values().cloned().collect();
        seen.push(next["sets"].as_object().unwrap().values().nth(1).unwrap().clone());
        seen.extend(rest["sets"].as_object().unwrap().values().cloned());
        let got: Vec<(String, Vec<String>)> = seen.iter().map(|s| summary(&claims(s.as_str().unwrap()))).collect();
        let want: Vec<(String, Vec<String>)> =
            expected.iter().map(|(u, t)| (u.clone(), t.iter().map(|s| s.to_string()).collect())).collect();
        assert_eq!(got, want);
        let unique: BTreeSet<String> = seen.iter().map(|s| claims(s.as_str().unwrap())["jti"].as_str().unwrap().to_owned()).collect();
        assert_eq!(unique.len(), 4);

        // Each token has its own stream, started at its creation; other tenants see nothing.
        let later = app.token_for("default", &[Scope::Read]).await;
        assert_eq!(poll(&app, &later, json!({"returnImmediately": true})).await["sets"], json!({}));
        patch_user(&app, &ann, "title", json!("Boss")).await;
        let one = poll(&app, &later, json!({"returnImmediately": true})).await;
        assert_eq!(summary(&claims(one["sets"].as_object().unwrap().values().next().unwrap().as_str().unwrap())), (format!("/Users/{ann}"), vec![PATCH.to_owned()]));
        let other = app.token_for("fabrikam", &[Scope::Read]).await;
        assert_eq!(poll(&app, &other, json!({"returnImmediately": true})).await["sets"], json!({}));

        // A long poll answers as soon as a change commits.
        let waiting = {
            let (client, url, token) = (app.client.clone(), app.url("/Events"), later.clone());
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let res = client.post(url).bearer_auth(token).json(&json!({"ack": jtis(&one), "maxEvents": 5})).send().await.unwrap();
                (res.json::<Value>().await.unwrap(), started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        create_user(&app, "cy@contoso.com").await;
        let (answer, waited) = waiting.await.unwrap();
        assert_eq!(jtis(&answer).len(), 1, "{answer}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
    }

    async fn poll_requests_are_checked_and_need_a_token(app: TestApp) {
        let reader = app.token_for("default", &[Scope::Read]).await;
        for (body, status) in [
            (json!({"maxEvents": 5000}), 400),
            (json!({"ack": "x"}), 400),
            (json!({"returnImmediately": "yes"}), 400),
            (json!({"nonsense": 1}), 400),
            (json!([1]), 400),
        ] {
            let res = app.send_as(&reader, Method::POST, "/Events", Some(body.clone())).await;
            let e = scim_error(res, status).await;
            assert!(e["detail"].as_str().is_some_and(|d| d.len() > 10), "{body}: {e}");
        }
        let res = app.client.post(app.url("/Events")).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), 401);
        // Acknowledging what scimd never sent changes nothing.
        let answer = poll(&app, &reader, json!({"ack": ["bogus", "99999999-1"], "returnImmediately": true})).await;
        assert_eq!(answer["sets"], json!({}));
    }

    async fn push_delivers_signed_events_in_commit_order_per_resource(app: TestApp) {
        let receiver = Receiver::start(accept_all()).await;
        let only_deactivations = Receiver::start(accept_all()).await;
        let sub = subscribe(&app, &receiver.url, json!([])).await;
        subscribe(&app, &only_deactivations.url, json!(["deactivate"])).await;
        assert!(sub.get("secret").is_none(), "a secret the client chose is not echoed");
        let _delivery = start_delivery(&app);

        let names: Vec<String> = (0..4).map(|i| format!("u{i}@contoso.com")).collect();
        let users: Vec<String> = futures::future::join_all(names.iter().map(|n| create_user(&app, n))).await;
        futures::future::join_all(users.iter().map(|u| {
            let app = &app;
            async move {
                for n in 0..5 {
                    patch_user(app, u, "title", json!(format!("t{n}"))).await;
                }
                patch_user(app, u, "active", json!(false)).await;
            }
        }))
        .await;
        assert_eq!(app.send(Method::DELETE, &format!("/Users/{}", users[0]), None).await.status(), 204);

        let got = receiver.wait_for(4 * 7 + 1).await;
        let mut per_resource: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        let mut positions: HashMap<String, Vec<i64>> = HashMap::new();
        for set in &got {
            let claims = verified(set, SECRET);
            assert_eq!(claims["aud"], receiver.url);
            assert_eq!(claims["iss"], "https://scim.example.com/scim/v2");
            let (uri, types) = summary(&claims);
            per_resource.entry(uri.clone()).or_default().push(types);
            let jti = claims["jti"].as_str().unwrap();
            positions.entry(uri).or_default().push(jti.split('-').next().unwrap().parse().unwrap());
        }
        for (i, u) in users.iter().enumerate() {
            let uri = format!("/Users/{u}");
            let mut want = vec![vec![CREATE.to_owned()]];
            want.extend((0..5).map(|_| vec![PATCH.to_owned()]));
            want.push(vec![PATCH.to_owned(), DEACTIVATE.to_owned()]);
            if i == 0 {
                want.push(vec![DELETE.to_owned()]);
            }
            assert_eq!(per_resource[&uri], want, "{uri}");
            assert!(positions[&uri].windows(2).all(|w| w[0] < w[1]), "commit order for {uri}");
        }
        // The filtered subscription hears of deactivations only, nothing else in the SET.
        let deactivations = only_deactivations.wait_for(4).await;
        for set in &deactivations {
            assert_eq!(verified(set, SECRET)["events"], json!({ DEACTIVATE: {} }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(receiver.accepted().len(), got.len(), "nothing delivered twice");
        let status = subscription(&app, id(&sub)).await;
        assert_eq!(status["delivery"]["delivered"], got.len());
        assert_eq!(status["delivery"]["lag"], 0);
    }

    async fn a_receiver_that_fails_for_a_while_gets_everything_after_it_recovers(app: TestApp) {
        // Down for the first five requests (about a quarter second), then up.
        let receiver = Receiver::start(Arc::new(|n, _| if n < 5 { 503 } else { 202 })).await;
        let sub = subscribe(&app, &receiver.url, json!([])).await;
        let ann = create_user(&app, "ann@contoso.com").await;
        for n in 0..3 {
            patch_user(&app, &ann, "title", json!(format!("t{n}"))).await;
        }
        let _delivery = start_delivery(&app);
        let got = receiver.wait_for(4).await;
        let kinds: Vec<Vec<String>> = got.iter().map(|s| summary(&verified(s, SECRET)).1).collect();
        assert_eq!(kinds, [vec![CREATE], vec![PATCH], vec![PATCH], vec![PATCH]].map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        let status = subscription(&app, id(&sub)).await;
        assert!(status["delivery"]["lastError"].as_str().is_some_and(|e| e.contains("503")), "{status}");
        assert_eq!(status["delivery"]["deadLetters"], 0);
        assert!(*receiver.requests.lock().unwrap() >= 9);
    }

    async fn refused_and_hopeless_events_are_dead_lettered_and_the_rest_flow(app: TestApp) {
        // The receiver refuses ann's events (400: the SET is wrong for it) and accepts others.
        let receiver = Receiver::start(Arc::new(|_, c: &Value| {
            if c["sub_id"]["externalId"] == "refuse-me" { 400 } else { 202 }
        }))
        .await;
        let sub = subscribe(&app, &receiver.url, json!(["create"])).await;
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "ann@contoso.com", "externalId": "refuse-me"})).await;
        assert_eq!(res.status(), 201);
        let bob = create_user(&app, "bob@contoso.com").await;
        let _delivery = start_delivery(&app);
        let got = receiver.wait_for(1).await;
        assert_eq!(summary(&verified(&got[0], SECRET)).0, format!("/Users/{bob}"));
        let status = subscription(&app, id(&sub)).await;
        assert_eq!(status["delivery"]["deadLetters"], 1, "{status}");
        let letter = &status["deadLetters"][0];
        assert!(letter["error"].as_str().unwrap().contains("400"), "{letter}");
        assert!(letter["jti"].as_str().is_some_and(|j| !j.is_empty()));
    }

    async fn subscriptions_are_managed_by_admins_of_their_tenant(app: TestApp) {
        let writer = app.token_for("default", &[Scope::Write]).await;
        let res = app.send_as(&writer, Method::GET, "/Admin/Subscriptions", None).await;
        scim_error(res, 403).await;
        for (body, words) in [
            (json!({}), "endpoint is required"),
            (json!({"endpoint": "ftp://rp.example.com/e"}), "http"),
            (json!({"endpoint": "https://rp.example.com/e", "events": ["urn:nope"]}), "unknown event type"),
            (json!({"endpoint": "https://rp.example.com/e", "secret": "short"}), "32 to 512 bytes"),
            (json!({"endpoint": "https://rp.example.com/e", "color": "red"}), "unknown attribute"),
        ] {
            let e = scim_error(app.post("/Admin/Subscriptions", body.clone()).await, 400).await;
            assert!(e["detail"].as_str().unwrap().contains(words), "{body}: {e}");
        }
        assert_eq!(app.get("/Admin/Subscriptions").await.json::<Value>().await.unwrap()["totalResults"], 0, "nothing was created");

        let res = app.post("/Admin/Subscriptions", json!({"endpoint": "https://rp.example.com/e", "events": ["create", "deactivate"]})).await;
        assert_eq!(res.status(), 201);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().expect("a generated secret is shown once");
        assert!(secret.len() >= 32);
        assert_eq!(created["events"], json!([CREATE, DEACTIVATE]));
        assert!(location.ends_with(&format!("/Admin/Subscriptions/{}", id(&created))));
        let list = app.get("/Admin/Subscriptions").await.json::<Value>().await.unwrap();
        assert_eq!(list["totalResults"], 1);
        assert!(!list.to_string().contains(secret), "never listed");
        let other = app.token_for("fabrikam", &[Scope::Admin]).await;
        let path = format!("/Admin/Subscriptions/{}", id(&created));
        scim_error(app.send_as(&other, Method::GET, &path, None).await, 404).await;
        scim_error(app.send_as(&other, Method::DELETE, &path, None).await, 404).await;
        assert_eq!(app.send(Method::DELETE, &path, None).await.status(), 204);
        scim_error(app.get(&path).await, 404).await;
        let log = app.get("/Admin/AuditEvents?resourceType=Subscription").await.json::<Value>().await.unwrap();
        let ops: Vec<&str> = log["Resources"].as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap()).collect();
        assert_eq!(ops, ["create", "delete"]);
        assert!(!log.to_string().contains(secret), "the secret never reaches the audit log");
    }

    async fn the_subscription_command_adds_lists_and_removes(app: TestApp) {
        let db = app.database_url();
        let run = |args: &[&str]| {
            let mut all = vec!["subscription"];
            all.extend_from_slice(args);
            all.extend(["--database", &db]);
            Command::new(BIN).args(&all).output().unwrap()
        };
        let out = run(&["add", "--endpoint", "https://rp.example.com/e", "--events", "create,delete"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "the id, then the generated secret");
        let sid = lines[0].to_owned();
        let out = run(&["list"]);
        let listed = String::from_utf8(out.stdout).unwrap();
        assert!(listed.contains(&sid) && listed.contains("https://rp.example.com/e"), "{listed}");
        assert!(!listed.contains(lines[1]), "the secret is never listed");
        let bad = run(&["add", "--endpoint", "nowhere"]);
        assert_eq!(bad.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("endpoint \"nowhere\""));
        assert!(run(&["remove", &sid]).status.success());
        let again = run(&["remove", &sid]);
        assert_eq!(again.status.code(), Some(1));
        assert_eq!(app.get("/Admin/Subscriptions").await.json::<Value>().await.unwrap()["totalResults"], 0);
    }

    async fn a_sigkill_between_commit_and_delivery_loses_no_event(app: TestApp) {
        crash_test(&app).await;
    }
}

/// Under a bounded write load, scimd is killed with SIGKILL and started again: every write it
/// acknowledged reaches the receiver under exactly one `jti` (redeliveries repeat it), none
/// missing.
async fn crash_test(app: &TestApp) {
    let receiver = Receiver::start(accept_all()).await;
    subscribe(app, &receiver.url, json!(["create"])).await;
    let first = Process::start(app).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, base, token, acked) =
                (app.client.clone(), first.base.clone(), app.token.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0..150 {
                    let body = json!({"schemas": [USER], "userName": format!("w{w}-{i}@contoso.com")});
                    let sent = client.post(format!("{base}/Users")).bearer_auth(&token).json(&body).send().await;
                    match sent {
                        Ok(res) if res.status() == 201 => {
                            let user: Value = res.json().await.unwrap();
                            acked.lock().unwrap().push(id(&user).to_owned());
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Kill it mid-load, once some events are through and more are in flight.
    for _ in 0..400 {
        if receiver.accepted().len() >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 50, "the load ran before the kill ({} writes)", acknowledged.len());
    let _second = Process::start(app).await;

    let mut by_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for _ in 0..800 {
        by_user.clear();
        for set in receiver.accepted() {
            let claims = verified(&set, SECRET);
            let uri = claims["sub_id"]["uri"].as_str().unwrap().trim_start_matches("/Users/").to_owned();
            by_user.entry(uri).or_default().insert(claims["jti"].as_str().unwrap().to_owned());
        }
        if acknowledged.iter().all(|u| by_user.contains_key(u)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let missing: Vec<&String> = acknowledged.iter().filter(|u| !by_user.contains_key(*u)).collect();
    assert!(missing.is_empty(), "{} acknowledged creates never reached the receiver: {missing:?}", missing.len());
    for (user, ids) in &by_user {
        assert_eq!(ids.len(), 1, "one event id per write, however often it was sent: {user} {ids:?}");
    }
}

/// On PostgreSQL a tenant's writes commit side by side, so a position drawn first can commit
/// last: a reader of the log waits for it rather than moving past it.
#[tokio::test]
#[ignore = "needs SCIMD_TEST_POSTGRES_URL"]
async fn a_reader_waits_for_a_position_drawn_earlier_and_committed_later() {
    use sqlx::{Connection, Row};
    let app = TestApp::postgres().await;
    let tenant = app.store.ensure_tenant("default").await.unwrap();
    let start = app.store.audit_after(tenant, 0, 1000).await.unwrap().last().map_or(0, |e| e.seq);

    // A slow write draws its position the way every write does, and stays open.
    let mut slow = sqlx::PgConnection::connect(&app.database_url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut slow).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))")
        .bind(format!("audit:{}", tenant.0))
        .execute(&mut slow)
        .await
        .unwrap();
    let drawn: i64 = sqlx::query(
        "INSERT INTO audit_events (tenant_id, at, actor, operation, resource_type, resource_id, changes) \
         VALUES ($1, $2, 'slow', 'create', 'Domain', 'slow.example', '{}') RETURNING seq",
    )
    .bind(tenant.0)
    .bind(scimd::store::sql::format_time(time::OffsetDateTime::now_utc()))
    .fetch_one(&mut slow)
    .await
    .unwrap()
    .get(0);

    // A later write commits first, with a higher position.
    let uid = create_user(&app, "quick@contoso.com").await;
    let store = app.store.clone();
    let read = tokio::spawn(async move { store.audit_after(tenant, start, 1000).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!read.is_finished(), "the reader waits for the open write instead of reading past it");

    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();
    let lines = tokio::time::timeout(Duration::from_secs(10), read).await.expect("the reader goes on").unwrap();
    let seen: Vec<(i64, &str)> = lines.iter().map(|e| (e.seq, e.resource_id.as_str())).collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], (drawn, "slow.example"));
    assert_eq!(seen[1].1, uid);
    assert!(seen[1].0 > drawn);
}
