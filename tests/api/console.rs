//! The admin center at /admin, driven over HTTP as a browser would: sign-in and its cookie,
//! refusals (scope, CSRF), the Add user wizard, Edit of a synchronized user, delete and restore.
//! What the pages do is checked through the SCIM API, which must agree with them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::browser::Browser;
use crate::helpers::{behaviour, id, TestApp, USER};

const LICENSE: &str = "urn:scimd:schemas:core:2.0:License";
const DIR: &str = "urn:scimd:schemas:extension:directory:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn add_license(app: &TestApp, part: &str, seats: i64) -> String {
    let body = json!({"schemas": [LICENSE], "partNumber": part, "displayName": format!("{part} plan"), "seats": seats});
    let res = app.post("/Licenses", body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    id(&res.json::<Value>().await.unwrap()).to_owned()
}

async fn users_named(app: &TestApp, name: &str) -> Vec<Value> {
    let filter = format!("userName eq \"{name}\"");
    let list: Value = app
        .client
        .get(app.url("/Users"))
        .query(&[("filter", filter)])
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["Resources"].as_array().cloned().unwrap_or_default()
}

async fn user_total(app: &TestApp) -> u64 {
    app.get("/Users?count=0").await.json::<Value>().await.unwrap()["totalResults"].as_u64().unwrap()
}

behaviour! {
    async fn signing_in_with_an_admin_token_sets_an_http_only_strict_session_cookie(app: TestApp) {
        let mut browser = Browser::new(&app);
        let before = browser.get("/admin/users").await;
        assert_eq!((before.status, before.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/sign-in")));

        let page = browser.sign_in(&app.token).await;

        assert_eq!((page.status, page.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/users")));
        let session = page.set_cookies.iter().find(|c| c.starts_with("scimd_session=")).expect("a session cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
            assert!(session.split("; ").any(|a| a == attribute), "{attribute} in {session}");
        }
        assert!(!session.contains("Secure"), "plain HTTP, no trusted proxy: {session}");
        assert!(!session.contains(&app.token), "the cookie names the session, never the token");
        let res = browser.client.get(format!("{}/admin/users", app.base)).header("cookie", browser.cookie_header()).send().await.unwrap();
        for (name, value) in [("cache-control", "no-store"), ("x-frame-options", "DENY"), ("x-content-type-options", "nosniff")] {
            assert_eq!(res.headers()[name], value, "{name}");
        }
        assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        let users = browser.read(res).await;
        assert_eq!(users.status, StatusCode::OK);
        assert!(users.body.contains("<h1>Active users</h1>"), "{}", users.body);
    }

    async fn an_untrusted_forwarded_proto_does_not_make_the_cookie_secure_and_sign_out_ends_the_session(app: TestApp) {
        let mut browser = Browser::new(&app);
        browser.get("/admin/sign-in").await;
        let form = [("csrf".to_owned(), browser.csrf.clone()), ("token".to_owned(), app.token.clone())];
        let res = browser.client.post(format!("{}/admin/sign-in", app.base))
            .header("cookie", browser.cookie_header())
            .header("x-forwarded-proto", "https")
            .form(&form).send().await.unwrap();
        let page = browser.read(res).await;
        let session = page.set_cookies.iter().find(|c| c.starts_with("scimd_session=")).expect("a session cookie");
        assert!(!session.contains("Secure"), "X-Forwarded-Proto counts only from a trusted proxy: {session}");
        let old = browser.cookies.clone();
        browser.get("/admin/users").await;

        let out = browser.post("/admin/sign-out", &[]).await;

        assert_eq!((out.status, out.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/sign-in")));
        browser.cookies = old;
        let after = browser.get("/admin/users").await;
        assert_eq!(after.location.as_deref(), Some("/admin/sign-in"), "the old cookie no longer signs in");
    }

    async fn behind_a_trusted_https_proxy_the_session_cookie_is_secure(app: TestApp) {
        let mut browser = Browser::new(&app);
        browser.base = app.proxied_server().await;
        browser.get("/admin/sign-in").await;
        let form = [("csrf".to_owned(), browser.csrf.clone()), ("token".to_owned(), app.token.clone())];

        let res = browser.client.post(format!("{}/admin/sign-in", browser.base))
            .header("cookie", browser.cookie_header())
            .header("x-forwarded-proto", "https")
            .form(&form).send().await.unwrap();

        let page = browser.read(res).await;
        let session = page.set_cookies.iter().find(|c| c.starts_with("scimd_session=")).expect("a session cookie");
        assert!(session.split("; ").any(|a| a == "Secure"), "{session}");
    }

    async fn a_token_without_the_admin_scope_is_refused_with_a_page_saying_why(app: TestApp) {
        let writer = app.token_for("default", &[Scope::Read, Scope::Write]).await;
        let mut browser = Browser::new(&app);

        let page = browser.sign_in(&writer).await;

        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(page.body.contains("admin scope"), "{}", page.body);
        assert!(page.set_cookies.iter().all(|c| !c.starts_with("scimd_session=")), "no session");
        let wrong = browser.sign_in("not-a-token").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.body.contains("role=\"alert\""), "{}", wrong.body);
    }

    async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let user = app.create_user("keep@example.com").await;
        let create = [("step", "mail"), ("action", "create"), ("user_name", "csrf@example.com")];

        let missing = browser.post_raw("/admin/users/new", &create.map(|(k, v)| (k.to_owned(), v.to_owned()))).await;
        let wrong = browser.post("/admin/users/new", &[("csrf", "forged"), ("step", "mail"), ("action", "create"), ("user_name", "csrf@example.com")]).await;
        let delete = browser.post(&format!("/admin/users/{}/delete", id(&user)), &[("csrf", "")]).await;

        for page in [&missing, &wrong, &delete] {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
            assert!(page.body.contains("nothing was changed"), "{}", page.body);
        }
        assert_eq!(user_total(&app).await, 1, "nothing created, nothing deleted");
        let sign_in = Browser::new(&app).post("/admin/sign-in", &[("token", &app.token)]).await;
        assert_eq!(sign_in.status, StatusCode::FORBIDDEN, "the sign-in form needs its token too");
    }

    async fn the_wizard_creates_a_licensed_user_that_the_scim_api_returns(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 2).await;
        let mut browser = Browser::signed_in(&app).await;
        let start = browser.get("/admin/users/new").await;
        assert!(start.body.contains("<label for=\"user_name\">User name</label>"), "{}", start.body);
        let mut fields: Vec<(&str, &str)> = vec![("first_name", "Ann"), ("last_name", "Lee"), ("display_name", "Ann Lee"), ("user_name", "ann@example.com")];

        for (step, more) in [
            ("details", vec![]),
            ("settings", vec![("admin_role", "Billing administrator"), ("alternate_email", "ann@home.example")]),
            ("location", vec![("usage_location", "NL")]),
            ("licenses", vec![("license", e3.as_str())]),
        ] {
            fields.extend(more);
            let mut form = fields.clone();
            form.extend([("step", step), ("action", "next")]);
            let page = browser.post("/admin/users/new", &form).await;
            assert_eq!(page.status, StatusCode::OK, "{step}: {}", page.body);
        }
        let mut form = fields.clone();
        form.extend([("step", "mail"), ("action", "create"), ("mail_to", "")]);
        let results = browser.post_and_follow("/admin/users/new", &form).await;

        assert_eq!(results.status, StatusCode::OK, "{}", results.body);
        assert!(results.body.contains("<h1>Results</h1>") && results.body.contains("ann@example.com"), "{}", results.body);
        assert!(results.body.contains("temporary-password"), "a temporary password is shown once");
        let found = users_named(&app, "ann@example.com").await;
        assert_eq!(found.len(), 1);
        let ann = &found[0];
        assert_eq!((ann["displayName"].as_str(), ann["name"]["givenName"].as_str()), (Some("Ann Lee"), Some("Ann")));
        assert_eq!(ann[DIR]["licenses"][0]["value"], json!(e3));
        assert_eq!(ann[DIR]["adminRoles"][0]["value"], "Billing administrator");
        let license: Value = app.get(&format!("/Licenses/{e3}")).await.json().await.unwrap();
        assert_eq!(license["consumed"], 1, "the seat the wizard took is counted");
        let list = browser.get("/admin/users?q=ann").await;
        assert!(list.body.contains("Ann Lee") && list.body.contains("ENTERPRISEPACK plan"), "{}", list.body);
    }

    async fn an_admin_role_without_an_alternate_email_is_refused_beside_that_field_keeping_what_was_typed(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/users/new").await;

        let page = browser.post("/admin/users/new", &[
            ("step", "mail"), ("action", "create"), ("user_name", "boss@example.com"),
            ("display_name", "The Boss"), ("admin_role", "Global administrator"), ("alternate_email", ""),
        ]).await;

        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("aria-describedby=\"alternate_email-hint alternate_email-error\""), "{}", page.body);
        let error = page.body.find("id=\"alternate_email-error\" role=\"alert\"").expect("the error beside the field");
        assert!(page.body[error..].contains("alternateEmails"), "{}", page.body);
        assert!(page.body.contains("value=\"The Boss\""), "what was typed is kept: {}", page.body);
        assert!(page.body.contains("<option value=\"Global administrator\" selected>"), "{}", page.body);
        assert_eq!(user_total(&app).await, 0);
    }

    async fn a_synchronized_users_page_is_read_only_and_a_forced_save_is_refused(app: TestApp) {
        let sync = app.token_for("default", &[Scope::Sync]).await;
        let res = app.send_as(&sync, reqwest::Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "synced@example.com", "displayName": "From AD"}))).await;
        let synced: Value = res.json().await.unwrap();
        let mut browser = Browser::signed_in(&app).await;

        let list = browser.get("/admin/users").await;
        let page = browser.get(&format!("/admin/users/{}", id(&synced))).await;
        let save = browser.post(&format!("/admin/users/{}", id(&synced)), &[("user_name", "synced@example.com"), ("display_name", "Changed")]).await;
        let delete = browser.post(&format!("/admin/users/{}/delete", id(&synced)), &[]).await;

        assert!(list.body.contains(">Synchronized</span>"), "{}", list.body);
        assert!(page.body.contains("synchronized from the on-premises directory"), "{}", page.body);
        assert!(page.body.contains("id=\"display_name\" name=\"display_name\" value=\"From AD\" disabled"), "{}", page.body);
        assert!(!page.body.contains(">Save</button>") && !page.body.contains(">Delete</button>"), "{}", page.body);
        for refused in [&save, &delete] {
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
            assert!(refused.body.contains("on-premises directory"), "{}", refused.body);
        }
        let now: Value = app.get(&format!("/Users/{}", id(&synced))).await.json().await.unwrap();
        assert_eq!(now["displayName"], "From AD");
    }

    async fn edit_saves_the_changes_and_a_stale_page_is_refused(app: TestApp) {
        let user = app.create_user("edit@example.com").await;
        let mut browser = Browser::signed_in(&app).await;
        let page = browser.get(&format!("/admin/users/{}", id(&user))).await;
        let version = page.body.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

        let saved = browser.post(&format!("/admin/users/{}", id(&user)), &[("version", &version), ("user_name", "edit@example.com"), ("display_name", "Edited"), ("usage_location", "DE")]).await;
        let stale = browser.post(&format!("/admin/users/{}", id(&user)), &[("version", &version), ("user_name", "edit@example.com"), ("display_name", "Stale")]).await;

        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        assert!(stale.body.contains("Someone else changed this user"), "{}", stale.body);
        let now: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert_eq!((now["displayName"].as_str(), now[DIR]["usageLocation"].as_str()), (Some("Edited"), Some("DE")));
    }

    async fn delete_frees_the_seat_and_restore_brings_the_user_back(app: TestApp) {
        let e3 = add_license(&app, "E3", 1).await;
        let res = app.post("/Users", json!({"schemas": [USER, DIR], "userName": "gone@example.com", DIR: {"usageLocation": "NL", "licenses": [{"value": e3}]}})).await;
        let user: Value = res.json().await.unwrap();
        let mut browser = Browser::signed_in(&app).await;
        browser.get(&format!("/admin/users/{}", id(&user))).await;

        let deleted = browser.post(&format!("/admin/users/{}/delete", id(&user)), &[]).await;

        assert_eq!((deleted.status, deleted.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/users")));
        assert_eq!(app.get(&format!("/Users/{}", id(&user))).await.status(), StatusCode::NOT_FOUND);
        let list = browser.get("/admin/users").await;
        assert!(list.body.contains("Deleted gone@example.com"), "{}", list.body);
        let licenses = browser.get("/admin/licenses").await;
        assert!(licenses.body.contains("<td>1</td><td>0</td><td>1</td>"), "seats 1, assigned 0, available 1: {}", licenses.body);
        let trash = browser.get("/admin/deleted").await;
        assert!(trash.body.contains("gone@example.com"), "{}", trash.body);

        let restored = browser.post(&format!("/admin/deleted/{}/restore", id(&user)), &[]).await;

        assert_eq!((restored.status, restored.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/deleted")));
        assert_eq!(app.get(&format!("/Users/{}", id(&user))).await.status(), StatusCode::OK);
        let license: Value = app.get(&format!("/Licenses/{e3}")).await.json().await.unwrap();
        assert_eq!(license["consumed"], 1, "the restored user took its seat again");
        let again = browser.post(&format!("/admin/deleted/{}/restore", id(&user)), &[]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
        assert!(again.body.contains("role=\"alert\""), "{}", again.body);
    }

    async fn active_users_are_searched_sorted_and_paged(app: TestApp) {
        app.seed_users("p", 25).await;
        app.create_user("zed@other.example").await;
        let mut browser = Browser::signed_in(&app).await;

        let first = browser.get("/admin/users?sort=userName&order=ascending").await;
        let second = browser.get("/admin/users?sort=userName&order=ascending&start=21").await;
        let search = browser.get("/admin/users?q=ZED").await;
        let descending = browser.get("/admin/users?sort=userName&order=descending").await;

        assert!(first.body.contains("Users 1–20 of 26") && first.body.contains("Next page"), "{}", first.body);
        assert!(second.body.contains("Users 21–26 of 26") && !second.body.contains("Next page"), "{}", second.body);
        assert!(search.body.contains("zed@other.example") && !search.body.contains("p0@example.com"), "{}", search.body);
        let zed = descending.body.find("zed@other.example").unwrap();
        assert!(zed < descending.body.find("p9@example.com").unwrap(), "descending by user name");
    }

    async fn bulk_edit_keeps_replaces_or_adds_licenses_and_lists_each_user_changed_or_refused(app: TestApp) {
        let e1 = add_license(&app, "E1", 10).await;
        let e3 = add_license(&app, "E3", 10).await;
        let e5 = add_license(&app, "E5", 10).await;
        let mut ids = Vec::new();
        for name in ["keep@example.com", "replace@example.com", "add@example.com"] {
            let body = json!({"schemas": [USER, DIR], "userName": name, DIR: {"usageLocation": "NL", "licenses": [{"value": e1}]}});
            ids.push(id(&app.post("/Users", body).await.json::<Value>().await.unwrap()).to_owned());
        }
        let sync = app.token_for("default", &[Scope::Sync]).await;
        let synced: Value = app.send_as(&sync, reqwest::Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "ad@example.com"}))).await.json().await.unwrap();
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/users").await;
        let licenses_of = |user: Value| -> Vec<String> {
            let mut l: Vec<String> = user[DIR]["licenses"].as_array().unwrap().iter().map(|l| l["value"].as_str().unwrap().to_owned()).collect();
            l.sort();
            l
        };

        let start = browser.post("/admin/bulk", &[("stage", "start"), ("user", &ids[0])]).await;
        assert!(start.body.contains("<label for=\"usage_location\">Usage location</label>"), "{}", start.body);
        let next = browser.post("/admin/bulk", &[("stage", "licenses"), ("user", &ids[0]), ("usage_location", "")]).await;
        for button in ["Keep current licenses", "Replace current licenses", "Add to current licenses"] {
            assert!(next.body.contains(&format!(">{button}</button>")), "{button}: {}", next.body);
        }
        let keep = browser.post_and_follow("/admin/bulk", &[("stage", "apply"), ("user", &ids[0]), ("usage_location", "DE"), ("action", "keep"), ("license", &e3)]).await;
        let replace = browser.post_and_follow("/admin/bulk", &[("stage", "apply"), ("user", &ids[1]), ("user", id(&synced)), ("action", "replace"), ("license", &e3), ("license", &e5)]).await;
        let add = browser.post_and_follow("/admin/bulk", &[("stage", "apply"), ("user", &ids[2]), ("action", "add"), ("license", &e3)]).await;

        assert!(keep.body.contains("1 changed, 0 refused"), "{}", keep.body);
        let kept: Value = app.get(&format!("/Users/{}", ids[0])).await.json().await.unwrap();
        assert_eq!((licenses_of(kept.clone()), kept[DIR]["usageLocation"].as_str()), (vec![e1.clone()], Some("DE")));
        assert!(replace.body.contains("1 changed, 1 refused") && replace.body.contains("on-premises directory"), "{}", replace.body);
        let mut want = vec![e3.clone(), e5.clone()];
        want.sort();
        assert_eq!(licenses_of(app.get(&format!("/Users/{}", ids[1])).await.json().await.unwrap()), want);
        let mut want = vec![e1.clone(), e3.clone()];
        want.sort();
        assert!(add.body.contains("1 changed, 0 refused"), "{}", add.body);
        assert_eq!(licenses_of(app.get(&format!("/Users/{}", ids[2])).await.json().await.unwrap()), want);
        let e3_now: Value = app.get(&format!("/Licenses/{e3}")).await.json().await.unwrap();
        assert_eq!(e3_now["consumed"], 2, "replace and add each took one E3 seat");
    }
    async fn the_new_pages_need_a_session_and_are_in_the_navigation(app: TestApp) {
        let mut stranger = Browser::new(&app);
        let mut browser = Browser::signed_in(&app).await;

        for path in ["/admin/tokens", "/admin/audit", "/admin/groups"] {
            let refused = stranger.get(path).await;
            let page = browser.get(path).await;

            assert_eq!((refused.status, refused.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/sign-in")), "{path}");
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert!(page.body.contains(&format!("<a href=\"{path}\" aria-current=\"page\">")), "{path}: {}", page.body);
        }
    }

    async fn a_token_created_in_the_admin_center_shows_its_secret_once_works_and_stops_when_revoked(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let list = browser.get("/admin/tokens").await;
        assert!(list.body.contains("<label for=\"name\">Token name</label>"), "{}", list.body);

        let created = browser.post_and_follow("/admin/tokens", &[("name", "entra-connector"), ("scope", "read"), ("scope", "write")]).await;

        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        assert!(created.body.contains("will not be shown again"), "{}", created.body);
        let secret = created.body.split("id=\"secret\" name=\"secret\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        assert!(secret.len() >= 20, "{secret}");
        assert_eq!(app.send_as(&secret, reqwest::Method::GET, "/Users", None).await.status(), StatusCode::OK);
        let again = browser.get("/admin/tokens").await;
        assert!(again.body.contains("entra-connector") && again.body.contains("read, write"), "{}", again.body);
        assert!(!again.body.contains(&secret), "the secret is shown once");
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        let token_id = tokens["Resources"].as_array().unwrap().iter().find(|t| t["name"] == "entra-connector").unwrap()["id"].as_str().unwrap().to_owned();

        let confirm = browser.get(&format!("/admin/tokens/{token_id}/revoke")).await;
        assert!(confirm.body.contains("cannot be undone") && confirm.body.contains(">Revoke</button>"), "{}", confirm.body);
        let revoked = browser.post(&format!("/admin/tokens/{token_id}/revoke"), &[]).await;

        assert_eq!((revoked.status, revoked.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/tokens")), "{}", revoked.body);
        let after = browser.get("/admin/tokens").await;
        assert!(after.body.contains("Revoked the token entra-connector.") && after.body.contains("<td>revoked</td>"), "{}", after.body);
        tokio::time::sleep(crate::helpers::TOKEN_CACHE + std::time::Duration::from_millis(50)).await;
        assert_eq!(app.send_as(&secret, reqwest::Method::GET, "/Users", None).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_token_form_without_a_name_or_scope_is_refused_beside_the_field(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/tokens").await;

        let no_scope = browser.post("/admin/tokens", &[("name", "nothing")]).await;
        let no_name = browser.post("/admin/tokens", &[("name", ""), ("scope", "read")]).await;

        assert_eq!(no_scope.status, StatusCode::BAD_REQUEST, "{}", no_scope.body);
        assert!(no_scope.body.contains("id=\"scopes-error\" role=\"alert\""), "{}", no_scope.body);
        assert!(no_scope.body.contains("value=\"nothing\""), "what was typed is kept: {}", no_scope.body);
        assert!(no_name.body.contains("aria-describedby=\"name-hint name-error\""), "{}", no_name.body);
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        assert_eq!(tokens["totalResults"], 1, "only the app's own token");
    }

    async fn token_create_and_revoke_without_the_csrf_token_are_refused_and_change_nothing(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let reader = app.token_for("default", &[Scope::Read]).await;
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        let reader_id = tokens["Resources"].as_array().unwrap().iter().find(|t| t["scopes"] == json!(["read"])).unwrap()["id"].as_str().unwrap().to_owned();
        browser.get("/admin/tokens").await;

        let create = browser.post_raw("/admin/tokens", &[("name".into(), "forged".into()), ("scope".into(), "admin".into())]).await;
        let revoke = browser.post(&format!("/admin/tokens/{reader_id}/revoke"), &[("csrf", "forged")]).await;

        for page in [&create, &revoke] {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
            assert!(page.body.contains("nothing was changed"), "{}", page.body);
        }
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        assert_eq!(tokens["totalResults"], 2, "nothing created");
        assert_eq!(app.send_as(&reader, reqwest::Method::GET, "/Users", None).await.status(), StatusCode::OK, "nothing revoked");
    }

    async fn the_last_admin_token_is_not_revoked_and_the_page_says_why(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        let own = tokens["Resources"][0]["id"].as_str().unwrap().to_owned();

        let confirm = browser.get(&format!("/admin/tokens/{own}/revoke")).await;
        let refused = browser.post(&format!("/admin/tokens/{own}/revoke"), &[]).await;

        assert!(confirm.body.contains("the token you signed in with"), "{}", confirm.body);
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
        assert_eq!(app.get("/Users").await.status(), StatusCode::OK, "still signed in and working");
    }
    async fn the_audit_log_is_newest_first_and_each_filter_narrows_it(app: TestApp) {
        let writer = app.token_for("default", &[Scope::Write]).await;
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        let writer_id = tokens["Resources"].as_array().unwrap().iter().find(|t| t["scopes"] == json!(["write"])).unwrap()["id"].as_str().unwrap().to_owned();
        let first = app.create_user("first@example.com").await;
        app.send_as(&writer, reqwest::Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "by-writer@example.com"}))).await;
        assert_eq!(app.delete(&format!("/Users/{}", id(&first))).await.status(), StatusCode::NO_CONTENT);
        let mut browser = Browser::signed_in(&app).await;

        let all = browser.get("/admin/audit").await;
        let deletes = browser.get("/admin/audit?operation=delete").await;
        let by_writer = browser.get(&format!("/admin/audit?actor={writer_id}")).await;
        let of_first = browser.get(&format!("/admin/audit?resource_id={}", id(&first))).await;
        let future = browser.get("/admin/audit?since=2999-01-01T00:00").await;
        let past = browser.get("/admin/audit?until=2000-01-01T00:00").await;
        let bad = browser.get("/admin/audit?since=yesterday").await;

        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        let (delete_at, create_at) = (all.body.find("<td>delete</td>").unwrap(), all.body.find("by-writer@example.com").unwrap());
        assert!(delete_at < create_at, "newest first: {}", all.body);
        assert!(all.body.contains("<label for=\"since\">From (UTC)</label>") && all.body.contains("<label for=\"operation\">Operation</label>"), "{}", all.body);
        assert!(deletes.body.contains("1 event,") && deletes.body.contains("<td>delete</td>"), "{}", deletes.body);
        assert!(by_writer.body.contains("1 event,") && by_writer.body.contains("by-writer@example.com"), "{}", by_writer.body);
        assert!(!by_writer.body.contains("first@example.com"), "{}", by_writer.body);
        assert!(of_first.body.contains("2 events,") && !of_first.body.contains("by-writer@example.com"), "create and delete: {}", of_first.body);
        assert!(future.body.contains("0 events,") && past.body.contains("0 events,"), "{}{}", future.body, past.body);
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(bad.body.contains("aria-describedby=\"since-error\"") && bad.body.contains("value=\"yesterday\""), "{}", bad.body);
    }

    async fn the_audit_log_is_paged_fifty_events_at_a_time(app: TestApp) {
        app.seed_users("a", 60).await;
        let mut browser = Browser::signed_in(&app).await;

        let first = browser.get("/admin/audit?operation=create").await;
        let second = browser.get("/admin/audit?operation=create&start=51").await;

        assert!(first.body.contains("Events 1–50 of 61") && first.body.contains("Older events"), "{}", first.body);
        assert!(!first.body.contains("Newer events"), "{}", first.body);
        assert!(second.body.contains("Events 51–61 of 61") && second.body.contains("Newer events"), "{}", second.body);
        assert!(!second.body.contains("Older events"), "{}", second.body);
    }
    async fn groups_are_searched_and_a_big_groups_members_are_paged_fifty_at_a_time(app: TestApp) {
        app.seed_users("m", 120).await;
        let ids: Vec<String> = (0..120).map(|i| format!("m-{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let big = app.create_group("Sales", &refs).await;
        app.create_group("Support", &["m-0"]).await;
        let mut browser = Browser::signed_in(&app).await;

        let list = browser.get("/admin/groups").await;
        let search = browser.get("/admin/groups?q=sal").await;
        let first = browser.get(&format!("/admin/groups/{}", id(&big))).await;
        let next = first.body.split("href=\"").filter_map(|h| h.split('"').next()).find(|h| h.contains("after=")).unwrap().replace("&amp;", "&");
        let second = browser.get(&next).await;
        let next = second.body.split("href=\"").filter_map(|h| h.split('"').next()).find(|h| h.contains("after=")).unwrap().replace("&amp;", "&");
        let third = browser.get(&next).await;
        let missing = browser.get("/admin/groups/no-such-group").await;

        assert!(list.body.contains("2 groups.") && list.body.contains(">Sales</a>") && list.body.contains(">Support</a>"), "{}", list.body);
        assert!(search.body.contains(">Sales</a>") && !search.body.contains(">Support</a>"), "{}", search.body);
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        assert!(first.body.contains("<h1>Sales</h1>") && first.body.contains("120 members."), "{}", first.body);
        assert!(first.body.contains("Members 1–50 of 120") && !first.body.contains("First page"), "{}", first.body);
        assert_eq!(first.body.matches("<td>User</td>").count(), 50);
        assert!(second.body.contains("Members 51–100 of 120") && second.body.contains("First page"), "{}", second.body);
        assert!(third.body.contains("Members 101–120 of 120") && !third.body.contains("Next page"), "{}", third.body);
        assert_eq!(third.body.matches("<td>User</td>").count(), 20);
        assert!(third.body.contains("href=\"/admin/users/m-119\""), "{}", third.body);
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    }

    async fn an_uploaded_csv_is_imported_and_its_results_list_the_refused_rows_with_the_report_to_download(app: TestApp) {
        app.create_user("old@example.com").await;
        let mut browser = Browser::signed_in(&app).await;
        let form = browser.get("/admin/import").await;
        assert!(form.body.contains("enctype=\"multipart/form-data\""), "{}", form.body);
        let csrf = browser.csrf.clone();
        let file = b"User Name,First Name,Last Name,Department\nnew@example.com,New,User,Sales\nold@example.com,Old,User,Support\nbad@example.com,Bad,Row,Sales,extra\n";

        let started = browser.post_file("/admin/import", &[("csrf", &csrf), ("temporary_passwords", "true"), ("mail_to", "")], ("users.csv", file)).await;
        let results = browser.import_results().await;

        assert_eq!((started.status, started.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/import/results")), "{}", started.body);
        assert_eq!(results.status, StatusCode::OK, "{}", results.body);
        for (what, n) in [("created", 1), ("updated", 1), ("refused", 1)] {
            assert!(results.body.contains(&format!("data-testid=\"{what}\">{n}<")), "{what}: {}", results.body);
        }
        assert!(results.body.contains("<td>bad@example.com</td>"), "the refused row with its reason: {}", results.body);
        assert_eq!(users_named(&app, "new@example.com").await.len(), 1);
        assert_eq!(users_named(&app, "old@example.com").await[0]["name"]["givenName"], "Old");
        let res = browser.client.get(format!("{}/admin/import/report.csv", app.base)).header("cookie", browser.cookie_header()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let report = res.text().await.unwrap();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines[0], "row,userName,status,id,detail,temporaryPassword", "{report}");
        assert!(lines[1].starts_with("2,new@example.com,created,") && !lines[1].ends_with(','), "a password: {report}");
        assert!(lines[2].starts_with("3,old@example.com,updated,"), "{report}");
        assert!(lines[3].starts_with("4,bad@example.com,refused,,"), "{report}");
        let stranger = Browser::new(&app).get("/admin/import/report.csv").await;
        assert_eq!(stranger.location.as_deref(), Some("/admin/sign-in"), "the report is the session's own");
    }

    async fn a_file_refused_as_a_whole_is_shown_beside_the_file_field_and_changes_nothing(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/import").await;
        let csrf = browser.csrf.clone();

        browser.post_file("/admin/import", &[("csrf", &csrf)], ("users.csv", b"User Name,Shoe Size\nann@example.com,38\n")).await;
        let unknown = browser.import_results().await;
        browser.post_file("/admin/import", &[("csrf", &csrf)], ("users.csv", b"First Name\nAnn\n")).await;
        let no_user_name = browser.import_results().await;
        let mut large = b"User Name\n".to_vec();
        large.resize(scimd::service::MAX_IMPORT_BYTES + 10, b'a');
        let too_large = browser.post_file("/admin/import", &[("csrf", &csrf)], ("big.csv", &large)).await;

        for (page, why) in [(&unknown, "Shoe Size"), (&no_user_name, "User Name"), (&too_large, "larger than 64 MiB")] {
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
            let error = page.body.find("id=\"file-error\" role=\"alert\"").unwrap_or_else(|| panic!("{}", page.body));
            assert!(page.body[error..].split("</p>").next().unwrap().contains(why), "{why}: {}", page.body);
            assert!(page.body.contains("aria-describedby=\"file-hint file-error\""), "{}", page.body);
        }
        assert_eq!(user_total(&app).await, 0, "nothing imported");
    }

    async fn an_upload_without_its_csrf_token_is_refused_and_imports_nothing(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/import").await;
        let file: (&str, &[u8]) = ("users.csv", b"User Name\nforged@example.com\n");

        let missing = browser.post_file("/admin/import", &[], file).await;
        let wrong = browser.post_file("/admin/import", &[("csrf", "forged")], file).await;

        for page in [&missing, &wrong] {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
            assert!(page.body.contains("nothing was changed"), "{}", page.body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(user_total(&app).await, 0, "nothing imported");
        assert_eq!(browser.get("/admin/import/results").await.location.as_deref(), Some("/admin/import"), "no import ran");
    }

    async fn dutch_is_chosen_by_accept_language_and_by_the_switch_whose_cookie_is_remembered(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let english = browser.get("/admin/import").await;
        let res = browser.client.get(format!("{}/admin/import", app.base))
            .header("cookie", browser.cookie_header())
            .header("accept-language", "nl-NL,nl;q=0.9,en;q=0.8")
            .send().await.unwrap();
        let by_header = browser.read(res).await;

        let switched = browser.get("/admin/language/nl?back=/admin/import").await;
        let remembered = browser.get("/admin/import").await;
        let back = browser.get("/admin/language/en?back=/admin/import").await;
        let english_again = browser.get("/admin/import").await;
        let elsewhere = browser.get("/admin/language/nl?back=//evil.example/admin").await;

        assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("<h1>Import users</h1>"), "{}", english.body);
        assert!(english.body.contains(">Nederlands</a>"), "the switch: {}", english.body);
        for page in [&by_header, &remembered] {
            assert!(page.body.contains("<html lang=\"nl\">"), "{}", page.body);
            assert!(page.body.contains("<h1>Gebruikers importeren</h1>"), "{}", page.body);
            assert!(page.body.contains("<label for=\"mail_to\">Resultaten e-mailen naar</label>"), "{}", page.body);
            assert!(page.body.contains(">Actieve gebruikers</a>") && page.body.contains(">English</a>"), "{}", page.body);
        }
        assert_eq!((switched.status, switched.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/import")));
        assert!(switched.set_cookies.iter().any(|c| c.starts_with("scimd_lang=nl;") && c.contains("Path=/admin")), "{:?}", switched.set_cookies);
        assert_eq!(back.location.as_deref(), Some("/admin/import"));
        browser.get("/admin/language/nl?back=/admin/users").await;
        let users = browser.get("/admin/users").await;
        assert!(users.body.contains("<label for=\"q\">Gebruikers zoeken</label>") && users.body.contains("<h1>Actieve gebruikers</h1>"), "{}", users.body);
        browser.get("/admin/language/en?back=/admin/users").await;
        assert!(english_again.body.contains("<h1>Import users</h1>"), "{}", english_again.body);
        assert_eq!(elsewhere.location.as_deref(), Some("/admin"), "the switch sends nobody off the admin center");
    }

    async fn the_sign_in_page_and_a_csrf_refusal_are_in_dutch_for_a_dutch_browser(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/language/nl?back=/admin/users").await;

        let refused = browser.post("/admin/users/new", &[("csrf", "forged")]).await;
        let mut stranger = Browser::new(&app);
        let res = stranger.client.get(format!("{}/admin/sign-in", app.base)).header("accept-language", "nl").send().await.unwrap();
        let sign_in = stranger.read(res).await;

        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("er is niets gewijzigd"), "{}", refused.body);
        assert!(sign_in.body.contains("<label for=\"token\">Beheertoken</label>"), "{}", sign_in.body);
        assert!(sign_in.body.contains(">Aanmelden</button>"), "{}", sign_in.body);
    }

    async fn a_results_mail_without_an_smtp_server_is_refused_beside_its_field_and_imports_nothing(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/import").await;
        let csrf = browser.csrf.clone();

        browser.post_file("/admin/import", &[("csrf", &csrf), ("mail_to", "hr@example.com")], ("users.csv", b"User Name\nann@example.com\n")).await;
        let page = browser.import_results().await;

        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
        let error = page.body.find("id=\"mail_to-error\"").unwrap_or_else(|| panic!("{}", page.body));
        assert!(page.body[error..].contains("SMTP"), "{}", page.body);
        assert!(page.body.contains("value=\"hr@example.com\""), "the addresses are kept: {}", page.body);
        assert_eq!(user_total(&app).await, 0, "nothing imported");
    }

    async fn a_refresh_of_a_result_page_repeats_nothing_and_shows_a_secret_no_more(app: TestApp) {
        let e1 = add_license(&app, "E1", 10).await;
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/tokens").await;

        let token = browser.post("/admin/tokens", &[("name", "once"), ("scope", "read")]).await;
        let shown = browser.get("/admin/tokens/created").await;
        let refreshed = browser.get("/admin/tokens/created").await;
        let wizard = browser.post("/admin/users/new", &[("step", "mail"), ("action", "create"), ("user_name", "prg@example.com"), ("usage_location", "NL")]).await;
        let results = browser.get("/admin/users/new/results").await;
        let results_again = browser.get("/admin/users/new/results").await;
        let prg = id(&users_named(&app, "prg@example.com").await[0]).to_owned();
        let bulk = browser.post("/admin/bulk", &[("stage", "apply"), ("user", &prg), ("action", "add"), ("license", &e1)]).await;
        let bulk_results = browser.get("/admin/bulk/results").await;
        let bulk_again = browser.get("/admin/bulk/results").await;

        assert_eq!((token.status, token.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/tokens/created")), "{}", token.body);
        assert!(shown.body.contains("<h1>Token created</h1>") && shown.body.contains("id=\"secret\""), "{}", shown.body);
        assert_eq!((refreshed.status, refreshed.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/tokens")), "the secret is shown once");
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        assert_eq!(tokens["totalResults"], 2, "one token made: the app's own and this one");
        assert_eq!((wizard.status, wizard.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/users/new/results")), "{}", wizard.body);
        assert!(results.body.contains("<h1>Results</h1>") && results.body.contains("prg@example.com"), "{}", results.body);
        assert_eq!(results_again.location.as_deref(), Some("/admin/users/new"), "a refresh opens a new wizard");
        assert_eq!(user_total(&app).await, 1, "one user made");
        assert_eq!((bulk.status, bulk.location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/bulk/results")), "{}", bulk.body);
        assert!(bulk_results.body.contains("1 changed, 0 refused"), "{}", bulk_results.body);
        assert_eq!(bulk_again.location.as_deref(), Some("/admin/users"));
        let license: Value = app.get(&format!("/Licenses/{e1}")).await.json().await.unwrap();
        assert_eq!(license["consumed"], 1);
    }

    async fn a_refresh_of_the_import_results_imports_nothing_again(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/import").await;
        let csrf = browser.csrf.clone();

        let started = browser.post_file("/admin/import", &[("csrf", &csrf)], ("users.csv", b"User Name\nonce@example.com\n")).await;
        let first = browser.import_results().await;
        let refreshed = browser.get("/admin/import/results").await;

        assert_eq!(started.location.as_deref(), Some("/admin/import/results"), "the upload redirects: {}", started.body);
        assert!(first.body.contains("data-testid=\"created\">1<"), "{}", first.body);
        assert!(refreshed.body.contains("data-testid=\"created\">1<"), "the same results: {}", refreshed.body);
        assert_eq!(user_total(&app).await, 1, "imported once");
    }

    async fn edit_blocks_sign_in_and_sets_and_clears_the_optional_details_as_scim_shows_them(app: TestApp) {
        let user = app.create_user("details@example.com").await;
        let mut browser = Browser::signed_in(&app).await;
        let path = format!("/admin/users/{}", id(&user));
        let page = browser.get(&path).await;
        for label in ["Block sign-in", "Job title", "Department", "Office phone", "Mobile phone", "Street address", "City", "State or province", "ZIP or postal code", "Country or region"] {
            assert!(page.body.contains(&format!(">{label}</label>")), "{label}: {}", page.body);
        }
        let version = |body: &str| body.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let details = [
            ("user_name", "details@example.com"), ("block_sign_in", "true"), ("job_title", "IT Manager"), ("department", "Information Technology"),
            ("office_phone", "123-555-1211"), ("mobile_phone", "123-555-6641"), ("street_address", "Stationsplein 1"), ("city", "Utrecht"),
            ("state", "Utrecht"), ("postal_code", "3511 ED"), ("country", "Netherlands"),
        ];

        let v = version(&page.body);
        let mut form = details.to_vec();
        form.push(("version", &v));
        let saved = browser.post(&path, &form).await;

        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let now: Value = app.get(&path.replace("/admin/users", "/Users")).await.json().await.unwrap();
        assert_eq!(now["active"], false, "{now}");
        assert_eq!((now["title"].as_str(), now[ENTERPRISE]["department"].as_str()), (Some("IT Manager"), Some("Information Technology")), "{now}");
        let phone = |ty: &str| now["phoneNumbers"].as_array().and_then(|p| p.iter().find(|p| p["type"] == ty)).map(|p| p["value"].clone());
        assert_eq!((phone("work"), phone("mobile")), (Some(json!("123-555-1211")), Some(json!("123-555-6641"))), "{now}");
        let work = now["addresses"].as_array().unwrap().iter().find(|a| a["type"] == "work").unwrap().clone();
        assert_eq!(work, json!({"type": "work", "streetAddress": "Stationsplein 1", "locality": "Utrecht", "region": "Utrecht", "postalCode": "3511 ED", "country": "Netherlands"}), "{now}");
        let shown = browser.get(&path).await;
        assert!(shown.body.contains("id=\"block_sign_in\" name=\"block_sign_in\" value=\"true\" checked"), "{}", shown.body);
        assert!(shown.body.contains("value=\"3511 ED\""), "{}", shown.body);
        let list = browser.get("/admin/users").await;
        assert!(list.body.contains("Sign-in blocked"), "{}", list.body);

        let v = version(&shown.body);
        let mut form: Vec<(&str, &str)> = details.iter().copied().filter(|(k, _)| !matches!(*k, "block_sign_in" | "mobile_phone" | "city")).collect();
        form.push(("version", &v));
        let cleared = browser.post(&path, &form).await;

        assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.body);
        let now: Value = app.get(&path.replace("/admin/users", "/Users")).await.json().await.unwrap();
        assert_eq!(now["active"], true, "{now}");
        let phones: Vec<&str> = now["phoneNumbers"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(phones, ["work"], "the mobile phone is removed, the office phone kept: {now}");
        let work = now["addresses"].as_array().unwrap().iter().find(|a| a["type"] == "work").unwrap().clone();
        assert!(work.get("locality").is_none() && work["postalCode"] == "3511 ED", "{now}");
    }

    async fn a_synchronized_users_sign_in_and_details_are_read_only_and_a_forced_block_is_refused(app: TestApp) {
        let sync = app.token_for("default", &[Scope::Sync]).await;
        let res = app.send_as(&sync, reqwest::Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "ad.details@example.com", "title": "Engineer"}))).await;
        let synced: Value = res.json().await.unwrap();
        let mut browser = Browser::signed_in(&app).await;
        let path = format!("/admin/users/{}", id(&synced));

        let page = browser.get(&path).await;
        let forced = browser.post(&path, &[("user_name", "ad.details@example.com"), ("job_title", "Engineer"), ("block_sign_in", "true")]).await;

        assert!(page.body.contains("id=\"job_title\" name=\"job_title\" value=\"Engineer\" disabled"), "{}", page.body);
        assert!(page.body.contains("id=\"block_sign_in\" name=\"block_sign_in\" value=\"true\" disabled"), "{}", page.body);
        assert_eq!(forced.status, StatusCode::FORBIDDEN, "{}", forced.body);
        let now: Value = app.get(&format!("/Users/{}", id(&synced))).await.json().await.unwrap();
        assert_ne!(now["active"], false, "not blocked: {now}");
    }

    async fn a_token_is_created_with_a_lifetime_and_a_rate_limit_that_the_list_and_scim_show(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        let form = browser.get("/admin/tokens").await;
        assert!(form.body.contains("<label for=\"expires\">Lifetime</label>"), "{}", form.body);
        assert!(form.body.contains("<label for=\"rate_limit\">Rate limit (requests per second)</label>"), "{}", form.body);

        let created = browser.post_and_follow("/admin/tokens", &[("name", "okta"), ("scope", "read"), ("expires", "90d"), ("rate_limit", "50")]).await;
        let list = browser.get("/admin/tokens").await;

        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        assert!(created.body.contains("<dd>50 per second</dd>"), "{}", created.body);
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        let okta = tokens["Resources"].as_array().unwrap().iter().find(|t| t["name"] == "okta").unwrap().clone();
        assert_eq!(okta["rateLimit"], 50, "{okta}");
        let expires = time::OffsetDateTime::parse(okta["expires"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
        let days = (expires - time::OffsetDateTime::now_utc()).whole_hours();
        assert!((89 * 24..=90 * 24).contains(&days), "about 90 days from now: {okta}");
        assert!(list.body.contains("<td>50 per second</td>") && list.body.contains("<td>Server default</td>"), "{}", list.body);
        let date = format!("<dd>{}-{:02}-{:02} ", expires.year(), u8::from(expires.month()), expires.day());
        assert!(created.body.contains(&date), "the expiry on the result page: {}", created.body);
    }

    async fn a_bad_lifetime_or_rate_limit_is_refused_beside_its_field_and_creates_nothing(app: TestApp) {
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/tokens").await;

        let lifetime = browser.post("/admin/tokens", &[("name", "x"), ("scope", "read"), ("expires", "forever")]).await;
        let zero = browser.post("/admin/tokens", &[("name", "x"), ("scope", "read"), ("rate_limit", "0")]).await;
        let words = browser.post("/admin/tokens", &[("name", "x"), ("scope", "read"), ("rate_limit", "fast")]).await;

        assert_eq!(lifetime.status, StatusCode::BAD_REQUEST, "{}", lifetime.body);
        assert!(lifetime.body.contains("aria-describedby=\"expires-hint expires-error\""), "{}", lifetime.body);
        assert!(lifetime.body.contains("value=\"forever\""), "what was typed is kept: {}", lifetime.body);
        for page in [&zero, &words] {
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
            let error = page.body.find("id=\"rate_limit-error\" role=\"alert\"").unwrap_or_else(|| panic!("{}", page.body));
            assert!(page.body[error..].contains("requests per second"), "{}", page.body);
        }
        let tokens: Value = app.get("/Admin/Tokens").await.json().await.unwrap();
        assert_eq!(tokens["totalResults"], 1, "only the app's own token");
    }

    async fn a_group_is_created_renamed_given_and_rid_of_members_and_deleted_as_scim_shows_it(app: TestApp) {
        let ann = app.create_user("ann@example.com").await;
        let ben = app.create_user("ben@example.com").await;
        let mut browser = Browser::signed_in(&app).await;
        let list = browser.get("/admin/groups").await;
        assert!(list.body.contains("<label for=\"display_name\">Group name</label>"), "{}", list.body);

        let created = browser.post("/admin/groups", &[("display_name", "Sales")]).await;
        let path = created.location.clone().unwrap_or_else(|| panic!("{}", created.body));
        let gid = path.rsplit('/').next().unwrap().to_owned();
        let page = browser.get(&path).await;
        let version = page.body.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let renamed = browser.post(&format!("{path}/rename"), &[("display_name", "Sales EMEA"), ("version", &version)]).await;
        let stale = browser.post(&format!("{path}/rename"), &[("display_name", "Stale"), ("version", &version)]).await;
        let added_ann = browser.post(&format!("{path}/members"), &[("member", "ann@example.com")]).await;
        let added_ben = browser.post(&format!("{path}/members"), &[("member", "BEN@example.com")]).await;
        let shown = browser.get(&path).await;
        let removed = browser.post(&format!("{path}/members/{}/remove", id(&ann)), &[]).await;
        let scim_after_remove: Value = app.get(&format!("/Groups/{gid}")).await.json().await.unwrap();
        let deleted = browser.post(&format!("{path}/delete"), &[]).await;

        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert!(page.body.contains("Created the group Sales.") && page.body.contains("<h1>Sales</h1>"), "{}", page.body);
        assert_eq!(renamed.location.as_deref(), Some(path.as_str()), "{}", renamed.body);
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "a stale page does not rename: {}", stale.body);
        assert!(stale.body.contains("id=\"display_name-error\" role=\"alert\"") && stale.body.contains("value=\"Stale\""), "{}", stale.body);
        for added in [&added_ann, &added_ben] {
            assert_eq!(added.location.as_deref(), Some(path.as_str()), "{}", added.body);
        }
        assert!(shown.body.contains("<h1>Sales EMEA</h1>") && shown.body.contains("2 members."), "{}", shown.body);
        assert!(shown.body.contains("aria-label=\"Remove ann@example.com from the group\""), "{}", shown.body);
        let members: Vec<&str> = scim_after_remove["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!((scim_after_remove["displayName"].as_str(), members), (Some("Sales EMEA"), vec![id(&ben)]));
        assert_eq!(removed.location.as_deref(), Some(path.as_str()), "{}", removed.body);
        assert_eq!(deleted.location.as_deref(), Some("/admin/groups"), "{}", deleted.body);
        assert_eq!(app.get(&format!("/Groups/{gid}")).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/Users/{}", id(&ben))).await.status(), StatusCode::OK, "members stay");
        assert!(browser.get("/admin/groups").await.body.contains("Deleted the group Sales EMEA."));
    }

    async fn an_unknown_member_and_an_empty_name_are_refused_beside_their_field_and_change_nothing(app: TestApp) {
        let group = app.create_group("Support", &[]).await;
        let mut browser = Browser::signed_in(&app).await;
        let path = format!("/admin/groups/{}", id(&group));
        browser.get(&path).await;

        let unknown = browser.post(&format!("{path}/members"), &[("member", "nobody@example.com")]).await;
        let empty = browser.post(&format!("{path}/members"), &[("member", "")]).await;
        let nameless = browser.post("/admin/groups", &[("display_name", "")]).await;
        let forged = browser.post(&format!("{path}/delete"), &[("csrf", "forged")]).await;

        assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
        let error = unknown.body.find("id=\"member-error\" role=\"alert\"").unwrap_or_else(|| panic!("{}", unknown.body));
        assert!(unknown.body[error..].contains("no user has the user name nobody@example.com"), "{}", unknown.body);
        assert!(unknown.body.contains("aria-describedby=\"member-hint member-error\"") && unknown.body.contains("value=\"nobody@example.com\""), "{}", unknown.body);
        assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.body);
        assert_eq!(nameless.status, StatusCode::BAD_REQUEST, "{}", nameless.body);
        let error = nameless.body.find("id=\"display_name-error\" role=\"alert\"").unwrap_or_else(|| panic!("{}", nameless.body));
        assert!(nameless.body[error..].contains("displayName"), "{}", nameless.body);
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
        let groups: Value = app.get("/Groups").await.json().await.unwrap();
        assert_eq!(groups["totalResults"], 1, "{groups}");
        let support: Value = app.get(&format!("/Groups/{}", id(&group))).await.json().await.unwrap();
        assert!(support["members"].as_array().is_none_or(|m| m.is_empty()), "{support}");
    }

    async fn a_dry_run_shows_what_an_import_would_do_with_its_report_and_writes_nothing(app: TestApp) {
        app.create_user("old@example.com").await;
        let mut browser = Browser::signed_in(&app).await;
        let form = browser.get("/admin/import").await;
        assert!(form.body.contains("<label for=\"dry_run\">Dry run</label>"), "{}", form.body);
        let csrf = browser.csrf.clone();
        let file = b"User Name,First Name\nnew@example.com,New\nold@example.com,Changed\nbad@example.com,Bad,extra\n";

        browser.post_file("/admin/import", &[("csrf", &csrf), ("dry_run", "true"), ("temporary_passwords", "true")], ("users.csv", file)).await;
        let results = browser.import_results().await;

        assert_eq!(results.status, StatusCode::OK, "{}", results.body);
        assert!(results.body.contains("<h1>Dry run results</h1>") && results.body.contains("nothing was created or changed"), "{}", results.body);
        for (what, n) in [("created", 1), ("updated", 1), ("refused", 1)] {
            assert!(results.body.contains(&format!("data-testid=\"{what}\">{n}<")), "{what}: {}", results.body);
        }
        assert!(results.body.contains("<td>bad@example.com</td>"), "{}", results.body);
        let res = browser.client.get(format!("{}/admin/import/report.csv", app.base)).header("cookie", browser.cookie_header()).send().await.unwrap();
        let report = res.text().await.unwrap();
        assert!(report.lines().nth(1).unwrap().starts_with("2,new@example.com,created,"), "{report}");
        assert!(report.lines().nth(1).unwrap().ends_with(','), "no password in a dry run: {report}");
        assert_eq!(user_total(&app).await, 1, "nothing created");
        assert!(users_named(&app, "old@example.com").await[0]["name"].get("givenName").is_none(), "nothing changed");

        browser.post_file("/admin/import", &[("csrf", &csrf)], ("users.csv", file)).await;
        let real = browser.import_results().await;

        assert!(real.body.contains("<h1>Import results</h1>") && real.body.contains("data-testid=\"created\">1<"), "{}", real.body);
        assert_eq!(user_total(&app).await, 2, "the real import writes");
    }

    async fn edit_shows_every_admin_role_held_and_adds_and_removes_each_without_dropping_the_others(app: TestApp) {
        let body = json!({"schemas": [USER, DIR], "userName": "boss@example.com", DIR: {
            "alternateEmails": [{"value": "boss@home.example"}],
            "adminRoles": [{"value": "Global administrator"}, {"value": "Billing administrator"}],
        }});
        let boss: Value = app.post("/Users", body).await.json().await.unwrap();
        let mut browser = Browser::signed_in(&app).await;
        let path = format!("/admin/users/{}", id(&boss));
        let roles_of = |user: &Value| -> Vec<String> {
            let mut r: Vec<String> = user[DIR]["adminRoles"].as_array().map(|a| a.iter().map(|r| r["value"].as_str().unwrap().to_owned()).collect()).unwrap_or_default();
            r.sort();
            r
        };
        let version = |body: &str| body.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let base = [("user_name", "boss@example.com"), ("alternate_email", "boss@home.example")];

        let page = browser.get(&path).await;
        let checked = |body: &str, role: &str| body.contains(&format!("name=\"admin_role\" value=\"{role}\" checked"));
        assert!(page.body.contains("<legend>Admin roles</legend>"), "{}", page.body);
        assert!(checked(&page.body, "Global administrator") && checked(&page.body, "Billing administrator"), "both held: {}", page.body);
        assert!(!checked(&page.body, "Password administrator"), "{}", page.body);

        let v = version(&page.body);
        let mut form = base.to_vec();
        form.extend([("version", v.as_str()), ("display_name", "The Boss"), ("admin_role", "Global administrator"), ("admin_role", "Billing administrator")]);
        let untouched = browser.post(&path, &form).await;
        let after_untouched: Value = app.get(&format!("/Users/{}", id(&boss))).await.json().await.unwrap();
        let v = version(&browser.get(&path).await.body);
        let mut form = base.to_vec();
        form.extend([("version", v.as_str()), ("display_name", "The Boss"), ("admin_role", "Billing administrator"), ("admin_role", "Password administrator")]);
        let swapped = browser.post(&path, &form).await;
        let after_swap: Value = app.get(&format!("/Users/{}", id(&boss))).await.json().await.unwrap();
        let v = version(&browser.get(&path).await.body);
        let mut form = base.to_vec();
        form.extend([("version", v.as_str()), ("display_name", "The Boss")]);
        let none = browser.post(&path, &form).await;
        let after_none: Value = app.get(&format!("/Users/{}", id(&boss))).await.json().await.unwrap();

        assert_eq!(untouched.status, StatusCode::SEE_OTHER, "{}", untouched.body);
        assert_eq!(after_untouched["displayName"], "The Boss");
        assert_eq!(roles_of(&after_untouched), ["Billing administrator", "Global administrator"], "a save of another field keeps both roles");
        assert_eq!(swapped.status, StatusCode::SEE_OTHER, "{}", swapped.body);
        assert_eq!(roles_of(&after_swap), ["Billing administrator", "Password administrator"], "one removed, one added, one kept");
        assert_eq!(none.status, StatusCode::SEE_OTHER, "{}", none.body);
        assert!(roles_of(&after_none).is_empty(), "{after_none}");
    }

    async fn a_role_outside_the_catalogue_is_refused_beside_the_roles_and_changes_nothing(app: TestApp) {
        let user = app.create_user("someone@example.com").await;
        let mut browser = Browser::signed_in(&app).await;
        let path = format!("/admin/users/{}", id(&user));
        browser.get(&path).await;

        let refused = browser.post(&path, &[("user_name", "someone@example.com"), ("alternate_email", "x@home.example"), ("admin_role", "Supreme ruler")]).await;

        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body.contains("id=\"admin_role-error\" role=\"alert\"") && refused.body.contains("aria-describedby=\"admin_role-error\""), "{}", refused.body);
        assert!(refused.body.contains("name=\"admin_role\" value=\"Supreme ruler\" checked"), "what was chosen is shown: {}", refused.body);
        let now: Value = app.get(&format!("/Users/{}", id(&user))).await.json().await.unwrap();
        assert!(now[DIR].get("adminRoles").is_none() && now[DIR].get("alternateEmails").is_none(), "{now}");
    }

    async fn the_new_controls_have_their_dutch_labels(app: TestApp) {
        let user = app.create_user("nl@example.com").await;
        let group = app.create_group("Verkoop", &[]).await;
        let mut browser = Browser::signed_in(&app).await;
        browser.get("/admin/language/nl?back=/admin/users").await;

        let edit = browser.get(&format!("/admin/users/{}", id(&user))).await;
        let groups = browser.get("/admin/groups").await;
        let group_page = browser.get(&format!("/admin/groups/{}", id(&group))).await;
        let tokens = browser.get("/admin/tokens").await;
        let import = browser.get("/admin/import").await;

        for (page, texts) in [
            (&edit, &["<legend>Beheerdersrollen</legend>", ">Aanmelden blokkeren</label>", ">Functie</label>", ">Postcode</label>"][..]),
            (&groups, &[">Groepsnaam</label>", ">Groep maken</button>"][..]),
            (&group_page, &[">Toe te voegen gebruikersnaam</label>", ">Lid toevoegen</button>", ">Naam wijzigen</button>", ">Groep verwijderen</button>"][..]),
            (&tokens, &[">Levensduur</label>", ">Aanvraaglimiet (aanvragen per seconde)</label>", "<td>Standaard van de server</td>"][..]),
            (&import, &[">Proefdraaien</label>"][..]),
        ] {
            for text in texts {
                assert!(page.body.contains(text), "{text}: {}", page.body);
            }
        }
    }
}
