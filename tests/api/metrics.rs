//! `GET /metrics`: Prometheus counters by route template after known traffic, who may read
//! them on the SCIM listener, and `--metrics-listen` serving them alone.

use reqwest::StatusCode;
use serde_json::{json, Value};

use scimd::auth::{generate_secret, hash_secret};
use scimd::store::{NewToken, Scope};

use crate::helpers::{behaviour, id, Process, TestApp, USER};

async fn scrape(app: &TestApp, url: &str, token: Option<&str>) -> reqwest::Response {
    let req = app.client.get(url);
    let req = match token {
        Some(token) => req.bearer_auth(token),
        None => req,
    };
    req.send().await.unwrap()
}

async fn scrape_text(app: &TestApp, url: &str, token: Option<&str>) -> String {
    let res = scrape(app, url, token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    res.text().await.unwrap()
}

/// The value of the one line that starts with `series` (name and labels exactly).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Three reads of a user, one of a user that does not exist, one create, one unknown path.
async fn known_traffic(app: &TestApp, base: &str) -> String {
    let res = app
        .client
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(&app.token)
        .json(&json!({"schemas": [USER], "userName": "metered@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let user = id(&res.json().await.unwrap()).to_owned();
    for _ in 0..3 {
        let res = app.client.get(format!("{base}/scim/v2/Users/{user}")).bearer_auth(&app.token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let missing = format!("{base}/scim/v2/Users/00000000-0000-0000-0000-000000000000");
    assert_eq!(app.client.get(missing).bearer_auth(&app.token).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let unknown = format!("{base}/no/such/{user}");
    assert_eq!(app.client.get(unknown).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    user
}

/// `unmatched`: the requests to paths no route serves, the unknown path among them.
fn assert_known_traffic(text: &str, user: &str, unmatched: f64) {
    let requests = "scimd_http_requests_total";
    for (series, count) in [
        (r#"{method="POST",route="/scim/v2/Users",status="201"}"#, 1.0),
        (r#"{method="GET",route="/scim/v2/Users/{id}",status="200"}"#, 3.0),
        (r#"{method="GET",route="/scim/v2/Users/{id}",status="404"}"#, 1.0),
        (r#"{method="GET",route="unmatched",status="404"}"#, unmatched),
    ] {
        assert_eq!(value(text, &format!("{requests}{series}")), Some(count), "{series} in\n{text}");
    }
    let duration = r#"scimd_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}"}"#;
    assert_eq!(value(text, duration), Some(4.0), "{text}");
    assert!(!text.contains(user), "a raw path with an id is never a label:\n{text}");
    let max = value(text, "scimd_db_connections_max").unwrap();
    let in_use = value(text, "scimd_db_connections_in_use").unwrap();
    let idle = value(text, "scimd_db_connections_idle").unwrap();
    assert!(max >= 1.0 && in_use + idle <= max, "{text}");
    for name in ["scimd_query_cancellations_total", "scimd_rate_limited_total"] {
        assert!(value(text, name).is_some(), "{name} in\n{text}");
    }
}

behaviour! {
    async fn metrics_count_requests_by_route_template_method_and_status(app: TestApp) {
        let user = known_traffic(&app, &app.base).await;

        let license = json!({"schemas": ["urn:scimd:schemas:core:2.0:License"], "partNumber": "E5", "seats": 25});
        assert_eq!(app.post("/Licenses", license).await.status(), StatusCode::CREATED);

        let text = scrape_text(&app, &format!("{}/metrics", app.base), Some(&app.token)).await;

        assert_known_traffic(&text, &user, 1.0);
        assert!(!text.contains("scimd_license_seats"), "seats are tenant data, not on the SCIM listener:\n{text}");
    }

    async fn metrics_on_the_scim_listener_need_an_admin_token(app: TestApp) {
        let url = format!("{}/metrics", app.base);
        let read_only = app.token_for("default", &[Scope::Read]).await;
        let other_tenants_admin = app.token_for("fabrikam", &[Scope::Admin]).await;

        let anonymous = scrape(&app, &url, None).await;
        let reader = scrape(&app, &url, Some(&read_only)).await;

        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert!(anonymous.headers().contains_key("www-authenticate"));
        assert_eq!(reader.status(), StatusCode::FORBIDDEN);
        // Nothing in them belongs to one tenant, so any tenant's admin may read them.
        let text = scrape_text(&app, &url, Some(&other_tenants_admin)).await;
        assert!(text.contains("scimd_http_requests_total"), "{text}");
    }

    async fn rate_limit_refusals_and_import_rows_are_counted(app: TestApp) {
        let tenant = app.store.ensure_tenant("default").await.unwrap();
        let secret = generate_secret();
        let token = NewToken {
            name: "slow".into(),
            secret_hash: hash_secret(&secret),
            scopes: vec![Scope::Admin],
            expires: None,
            rate_limit: Some(1),
        };
        app.store.create_token(tenant, token, &crate::helpers::test_actor()).await.unwrap();
        let csv = "User Name,First Name\nann@contoso.com,Ann\nbob@contoso.com,Bob\n,Nobody\n";
        let import = app
            .client
            .post(app.url("/Admin/Import"))
            .bearer_auth(&app.token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(import.status(), StatusCode::OK);

        let first = app.client.get(app.url("/Users")).bearer_auth(&secret).send().await.unwrap();
        let second = app.client.get(app.url("/Users")).bearer_auth(&secret).send().await.unwrap();
        let text = scrape_text(&app, &format!("{}/metrics", app.base), Some(&app.token)).await;

        assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(value(&text, "scimd_rate_limited_total"), Some(1.0), "{text}");
        assert_eq!(value(&text, r#"scimd_http_requests_total{method="GET",route="/scim/v2/Users",status="429"}"#), Some(1.0));
        assert_eq!(value(&text, r#"scimd_import_rows_total{outcome="created"}"#), Some(2.0), "{text}");
        assert_eq!(value(&text, r#"scimd_import_rows_total{outcome="refused"}"#), Some(1.0), "{text}");
    }

    async fn metrics_listen_serves_them_alone_without_auth_and_the_scim_listener_404s(app: TestApp) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let metrics_url = format!("http://127.0.0.1:{port}/metrics");
        let process =
            Process::start_with(&app, &app.database_url(), &["--metrics-listen", &format!("127.0.0.1:{port}")]).await;
        let base = process.base.trim_end_matches("/scim/v2").to_owned();
        // A subscription whose receiver never answers: every write after it stays undelivered.
        let body = json!({"endpoint": "http://127.0.0.1:9/events", "events": [], "secret": "s3cret-s3cret-s3cret-s3cret-0123"});
        let subscribed = app.post("/Admin/Subscriptions", body).await;
        assert_eq!(subscribed.status(), StatusCode::CREATED);
        let sid = subscribed.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        let user = known_traffic(&app, &base).await;
        let license = json!({"schemas": ["urn:scimd:schemas:core:2.0:License"], "partNumber": "E5", "seats": 25});
        let created = app.client.post(format!("{base}/scim/v2/Licenses")).bearer_auth(&app.token).json(&license).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let on_scim_listener = scrape(&app, &format!("{base}/metrics"), Some(&app.token)).await;
        let text = scrape_text(&app, &metrics_url, None).await;
        let elsewhere = scrape(&app, &format!("http://127.0.0.1:{port}/scim/v2/Users"), Some(&app.token)).await;

        assert_eq!(on_scim_listener.status(), StatusCode::NOT_FOUND);
        assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
        // The SCIM listener's 404 for /metrics is one more unmatched request there.
        assert_known_traffic(&text, &user, 2.0);
        // Tenant data, here only: by tenant and part number.
        let available = r#"scimd_license_seats_available{part_number="E5",tenant="default"}"#;
        assert_eq!(value(&text, available), Some(25.0), "{text}");
        let consumed = r#"scimd_license_seats_consumed{part_number="E5",tenant="default"}"#;
        assert_eq!(value(&text, consumed), Some(0.0), "{text}");
        // The user and the License created since the subscription, waiting for its receiver.
        let lag = format!("scimd_event_outbox_lag{{subscription=\"{sid}\"}}");
        assert_eq!(value(&text, &lag), Some(2.0), "{text}");
    }
}
