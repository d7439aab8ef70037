//! Admin-center sessions live in the store: a session made on one process works on another
//! on the same database and after a restart, and ends everywhere on sign-out, idle expiry or
//! when its token is revoked.

use reqwest::StatusCode;
use time::OffsetDateTime;

use scimd::auth::hash_secret;
use scimd::store::{Scope, SessionRecord};

use crate::browser::Browser;
use crate::helpers::{behaviour, Process, TestApp};

const IDLE_MS: i64 = 30 * 60 * 1000;

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The stored session the browser's cookie names, expired or not.
async fn stored(app: &TestApp, browser: &Browser) -> Option<SessionRecord> {
    let id = browser.cookies.get("scimd_session").expect("a session cookie");
    app.store.session(&hash_secret(id), i64::MIN).await.unwrap()
}

/// The browser's session cookie and CSRF token, carried to a browser of another server.
fn carried_to(browser: &Browser, base: &str) -> Browser {
    let mut other = Browser::at(base);
    other.cookies = browser.cookies.clone();
    other.csrf = browser.csrf.clone();
    other
}

behaviour! {
    async fn a_session_made_on_one_process_works_on_another_with_its_forms_and_messages(app: TestApp) {
        let mut first = Browser::signed_in(&app).await;
        first.get("/admin/groups").await;
        let mut second = carried_to(&first, &app.second_server().await);

        let page = second.get("/admin/groups").await;
        let created = second.post("/admin/groups", &[("display_name", "Made elsewhere")]).await;
        let shown = first.get(created.location.as_deref().unwrap_or("/admin/groups")).await;

        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert!(shown.body.contains("Created the group Made elsewhere."), "the message crosses processes: {}", shown.body);
        let again = first.get("/admin/groups").await;
        assert!(!again.body.contains("Created the group Made elsewhere."), "and is shown once: {}", again.body);
        let groups: serde_json::Value = app.get("/Groups").await.json().await.unwrap();
        assert_eq!(groups["totalResults"], 1);
    }

    async fn a_session_survives_a_restart(app: TestApp) {
        let before = Process::start(&app).await;
        let mut browser = Browser::at(before.base.trim_end_matches("/scim/v2"));
        assert_eq!(browser.sign_in(&app.token).await.status, StatusCode::SEE_OTHER);
        before.kill();
        let after = Process::start(&app).await;
        let mut browser = carried_to(&browser, after.base.trim_end_matches("/scim/v2"));

        let page = browser.get("/admin/users").await;

        assert_eq!(page.status, StatusCode::OK, "still signed in: {:?} {}", page.location, page.body);
    }

    async fn signing_out_on_one_process_ends_the_session_on_the_other(app: TestApp) {
        let mut first = Browser::signed_in(&app).await;
        first.get("/admin/users").await;
        let mut second = carried_to(&first, &app.second_server().await);
        assert_eq!(second.get("/admin/users").await.status, StatusCode::OK);

        let out = first.post("/admin/sign-out", &[]).await;

        assert_eq!(out.location.as_deref(), Some("/admin/sign-in"));
        let after = second.get("/admin/users").await;
        assert_eq!((after.status, after.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/sign-in")));
    }

    async fn an_expired_session_is_refused_and_removed(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        assert!(stored(&app, &browser).await.is_some());
        app.execute_sql(&format!("UPDATE console_sessions SET expires_at = {}", now_ms() - 1)).await;

        let page = browser.get("/admin/users").await;

        assert_eq!((page.status, page.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/sign-in")));
        assert!(stored(&app, &browser).await.is_none(), "an expired session is removed when read");
    }

    async fn a_session_is_renewed_by_use_at_most_once_a_minute(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let recent = now_ms() + IDLE_MS - 10_000;
        app.execute_sql(&format!("UPDATE console_sessions SET expires_at = {recent}")).await;

        browser.get("/admin/users").await;
        let untouched = stored(&app, &browser).await.unwrap().expires_at;
        app.execute_sql(&format!("UPDATE console_sessions SET expires_at = {}", now_ms() + 120_000)).await;
        let start = now_ms();
        browser.get("/admin/users").await;
        let renewed = stored(&app, &browser).await.unwrap().expires_at;

        assert_eq!(untouched, recent, "renewed ten seconds ago: not written again");
        assert!(renewed >= start + IDLE_MS, "used a while after: renewed for the idle time ({renewed} < {})", start + IDLE_MS);
    }

    async fn a_revoked_tokens_sessions_are_refused_on_every_process(app: TestApp) {
        let token = app.token_for("default", &[Scope::Admin]).await;
        let mut first = Browser::at(&app.base);
        assert_eq!(first.sign_in(&token).await.status, StatusCode::SEE_OTHER);
        let mut second = carried_to(&first, &app.second_server().await);
        assert_eq!(second.get("/admin/users").await.status, StatusCode::OK);
        let id = app.store.find_token(&hash_secret(&token)).await.unwrap().unwrap().id;

        assert_eq!(app.delete(&format!("/Admin/Tokens/{id}")).await.status(), StatusCode::NO_CONTENT);

        for browser in [&mut first, &mut second] {
            let page = browser.get("/admin/users").await;
            assert_eq!((page.status, page.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/sign-in")));
        }
        assert!(stored(&app, &first).await.is_none(), "the session ended with its token");
    }

    async fn a_form_without_the_sessions_csrf_token_is_refused_on_another_process(app: TestApp) {
        let mut first = Browser::signed_in(&app).await;
        first.get("/admin/groups").await;
        let mut second = carried_to(&first, &app.second_server().await);

        let forged = second.post("/admin/groups", &[("display_name", "Forged"), ("csrf", "not-the-token")]).await;
        let bare = second.post_raw("/admin/groups", &[("display_name".into(), "Bare".into())]).await;

        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
        assert_eq!(bare.status, StatusCode::FORBIDDEN, "{}", bare.body);
        let groups: serde_json::Value = app.get("/Groups").await.json().await.unwrap();
        assert_eq!(groups["totalResults"], 0, "nothing was created");
    }
}
