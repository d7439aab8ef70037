//! The cost of pushing SCIM events: POST /Users throughput with one push subscription being
//! delivered to a receiver on 127.0.0.1, against the same load with no subscription, measured
//! in one run (alternating, so the database's growth weighs on both) and printed as a ratio.
//! Never asserts.
//!
//! `cargo bench --bench events -- [--quick] [--connections C] [--seconds S]`

// A benchmark that cannot set itself up should stop loudly, so setup failures panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use scimd::auth::{generate_secret, hash_secret};
use scimd::cli::DatabaseArgs;
use scimd::service::delivery::{self, DeliveryConfig};
use scimd::store::{NewToken, Scope};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Every load loop stops at this many requests, whatever the time limit.
const MAX_REQUESTS: u64 = 1_000_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let quick = args.iter().any(|a| a == "--quick");
    let connections: usize = value("--connections").and_then(|v| v.parse().ok()).unwrap_or(16);
    let seconds: u64 = value("--seconds").and_then(|v| v.parse().ok()).unwrap_or(if quick { 2 } else { 5 });
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(run(connections, seconds));
}

async fn run(connections: usize, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let store = scimd::open_store(&DatabaseArgs::new(url, 16)).await.unwrap();
    let tenant = store.ensure_tenant("default").await.unwrap();
    let token = generate_secret();
    let new = NewToken {
        name: "bench".into(),
        secret_hash: hash_secret(&token),
        scopes: vec![Scope::Admin],
        expires: None,
        rate_limit: None,
    };
    store.create_token(tenant, new, &scimd::store::Actor::system("benchmark")).await.unwrap();
    let state = scimd::state(store.clone(), None).unwrap();
    let service = state.service.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/scim/v2", listener.local_addr().unwrap());
    let app = scimd::app(state);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The application's endpoint: accepts every SET, as a healthy receiver does.
    let received = Arc::new(AtomicU64::new(0));
    let counted = received.clone();
    let receiver = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            async { axum::http::StatusCode::ACCEPTED }
        }),
    );
    let receiver_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/events", receiver_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(receiver_listener, receiver).await });
    tokio::spawn(delivery::run(service, DeliveryConfig::new(base.clone())));

    let http = reqwest::Client::builder().pool_max_idle_per_host(connections * 2).build().unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    println!("POST /Users for {seconds} s at {connections} connections, SQLite (temporary file)");
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut subscribed = false;
    for round in 0..4 {
        if round % 2 == 1 && !subscribed {
            let res = http
                .post(format!("{base}/Admin/Subscriptions"))
                .bearer_auth(&token)
                .json(&json!({"endpoint": endpoint}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201, "subscription created");
            subscribed = true;
        }
        let rate = post_load(&http, &base, &token, &counter, connections, seconds).await;
        let label = if subscribed { "one subscription" } else { "no subscription" };
        println!("  round {}: {label:<18} {rate:>8.0} creates/s", round + 1);
        if subscribed {
            with.push(rate);
        } else {
            without.push(rate);
        }
        if subscribed && round % 2 == 1 {
            // Back to no subscription for the next round.
            let list: serde_json::Value = http
                .get(format!("{base}/Admin/Subscriptions"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
            let lag = list["Resources"][0]["delivery"]["lag"].clone();
            println!("           events still to deliver when the round ended: {lag}");
            let res = http.delete(format!("{base}/Admin/Subscriptions/{id}")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(res.status(), 204);
            subscribed = false;
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ratio = mean(&with) / mean(&without);
    println!(
        "creates/s with one subscription / without = {ratio:.2} ({}; bar 0.85); events received: {}",
        if ratio >= 0.85 { "within bar" } else { "OUTSIDE BAR" },
        received.load(Ordering::Relaxed)
    );
}

/// Creates users from `connections` clients for `seconds`; returns creates per second.
async fn post_load(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    counter: &Arc<AtomicU64>,
    connections: usize,
    seconds: u64,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (http, base, token, counter, sent) =
            (http.clone(), base.to_owned(), token.to_owned(), counter.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS {
                let k = counter.fetch_add(1, Ordering::Relaxed);
                let body = json!({"schemas": [USER], "userName": format!("u{k}@example.com"), "displayName": "New"});
                let res = http.post(format!("{base}/Users")).bearer_auth(&token).json(&body).send().await.unwrap();
                if res.status() == 201 {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.unwrap();
    }
    created as f64 / started.elapsed().as_secs_f64()
}
