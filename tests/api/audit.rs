//! The audit log: every write through the API, Bulk, import and the command line appears once,
//! with who made it and what it changed, and nothing for a write that was refused.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, TestApp, GROUP, PATCH_OP, USER};

/// A token called `name` with `scopes`, created through `/Admin/Tokens`: (secret, id).
async fn token(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let res = app.post("/Admin/Tokens", json!({"name": name, "scopes": scopes})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (body["secret"].as_str().unwrap().to_owned(), body["id"].as_str().unwrap().to_owned())
}

async fn events(app: &TestApp, query: &str) -> Value {
    let res = app.get(&format!("/Admin/AuditEvents{query}")).await;
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

fn operations(list: &Value) -> Vec<String> {
    list["Resources"].as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap().to_owned()).collect()
}

behaviour! {
    async fn every_write_is_recorded_with_its_actor_and_what_it_changed(app: TestApp) {
        let (secret, token_id) = token(&app, "entra", &["write"]).await;
        let body = json!({"schemas": [USER], "userName": "ann@contoso.com", "title": "Clerk", "password": "s3cret-Value"});
        let res = app.send_as(&secret, Method::POST, "/Users", Some(body)).await;
        assert_eq!(res.status(), 201);
        let user: Value = res.json().await.unwrap();
        let uid = id(&user).to_owned();
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
        assert_eq!(app.send_as(&secret, Method::PATCH, &format!("/Users/{uid}"), Some(patch)).await.status(), 200);
        let put = json!({"schemas": [USER], "userName": "ann@contoso.com", "displayName": "Ann"});
        assert_eq!(app.send_as(&secret, Method::PUT, &format!("/Users/{uid}"), Some(put)).await.status(), 200);
        assert_eq!(app.send_as(&secret, Method::DELETE, &format!("/Users/{uid}"), None).await.status(), 204);
        assert_eq!(app.post(&format!("/Admin/DeletedUsers/{uid}/restore"), json!({})).await.status(), 200);

        let log = events(&app, &format!("?resourceId={uid}")).await;
        assert_eq!(operations(&log), ["create", "patch", "replace", "delete", "restore"]);
        let list = log["Resources"].as_array().unwrap();
        for e in &list[..4] {
            assert_eq!((e["actor"]["name"].as_str(), e["actor"]["tokenId"].as_str()), (Some("entra"), Some(token_id.as_str())), "{e}");
            assert!(e["actor"]["requestId"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
            assert_eq!(e["actor"]["client"], "127.0.0.1", "{e}");
            assert_eq!((e["resourceType"].as_str(), e["resourceId"].as_str()), (Some("User"), Some(uid.as_str())));
        }
        assert_eq!(list[4]["actor"]["name"], "test", "the restore was the admin token's");
        // A create records the name's value and which other attributes it set.
        assert_eq!(list[0]["changes"]["userName"], json!({"after": "ann@contoso.com"}));
        assert_eq!(list[0]["changes"]["set"], json!(["title"]));
        assert_eq!(list[0]["changes"]["password"], json!({"after": "(set)"}));
        assert_eq!(list[1]["changes"], json!({"title": {"before": "Clerk", "after": "Boss"}}));
        assert_eq!(list[2]["changes"]["title"], json!({"before": "Boss"}));
        assert_eq!(list[2]["changes"]["displayName"], json!({"after": "Ann"}));
        assert_eq!(list[3]["changes"]["userName"], json!({"before": "ann@contoso.com"}));
        assert!(!log.to_string().contains("s3cret-Value"), "a password never reaches the log");

        // Members: created with one, then one more added by PATCH.
        let (a, b) = (app.create_user("a@contoso.com").await, app.create_user("b@contoso.com").await);
        let group = app.post("/Groups", json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": id(&a)}]})).await;
        let gid = id(&group.json::<Value>().await.unwrap()).to_owned();
        let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id(&b)}]}]});
        assert_eq!(app.patch(&format!("/Groups/{gid}"), add).await.status(), 204);
        let log = events(&app, &format!("?resourceId={gid}")).await;
        assert_eq!(operations(&log), ["create", "patch"]);
        assert_eq!(log["Resources"][0]["changes"]["members"], json!({"added": [id(&a)]}));
        assert_eq!(log["Resources"][1]["changes"], json!({"members": {"added": [id(&b)]}}));
    }

    async fn bulk_operations_and_import_rows_are_recorded_one_by_one(app: TestApp) {
        let bulk = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "bulk-a"}},
                {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": [USER], "userName": "bulk-b"}},
                // Refused in the same batch: undone alone, and not in the log.
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"schemas": [USER], "userName": "BULK-A"}},
                {"method": "PATCH", "path": "/Users/bulkId:a", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "T"}]}},
            ],
        });
        assert_eq!(app.post("/Bulk", bulk).await.status(), 200);
        let res = app
            .client
            .post(app.url("/Admin/Import"))
            .bearer_auth(&app.token)
            .header("content-type", "text/csv")
            .body("User Name,Job Title\nimported@contoso.com,Clerk\n")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let log = events(&app, "?resourceType=User").await;
        assert_eq!(operations(&log), ["create", "create", "patch", "create"]);
        let last = &log["Resources"][3];
        assert!(last["changes"]["set"].as_array().unwrap().contains(&json!("title")), "{last}");
        assert_eq!(last["changes"]["userName"], json!({"after": "imported@contoso.com"}));
    }

    async fn a_refused_write_leaves_nothing_in_the_log(app: TestApp) {
        let user = app.create_user("once@contoso.com").await;
        let dup = app.post("/Users", json!({"schemas": [USER], "userName": "ONCE@contoso.com"})).await;
        scim_error(dup, 409).await;
        let stale = app
            .client
            .patch(app.url(&format!("/Users/{}", id(&user))))
            .bearer_auth(&app.token)
            .header("if-match", "W/\"9\"")
            .json(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}))
            .send()
            .await
            .unwrap();
        scim_error(stale, 412).await;
        // A PATCH that changes nothing writes nothing.
        let same = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "once@contoso.com"}]});
        assert_eq!(app.patch(&format!("/Users/{}", id(&user)), same).await.status(), 200);
        assert_eq!(operations(&events(&app, "?resourceType=user").await), ["create"]);
    }

    async fn tokens_and_verified_domains_are_recorded_too(app: TestApp) {
        let (_, token_id) = token(&app, "okta", &["read", "write"]).await;
        assert_eq!(app.delete(&format!("/Admin/Tokens/{token_id}")).await.status(), 204);
        let log = events(&app, &format!("?resourceType=Token&resourceId={token_id}")).await;
        assert_eq!(operations(&log), ["create", "revoke"]);
        assert_eq!(log["Resources"][0]["changes"]["name"], json!({"after": "okta"}));
        assert_eq!(log["Resources"][0]["changes"]["scopes"], json!({"after": ["read", "write"]}));
        assert!(!log.to_string().contains("scimd_"), "a token's secret never reaches the log");
        assert!(log["Resources"][1]["location"].as_str().unwrap().ends_with(&format!("/Admin/Tokens/{token_id}")));

        let tenant = app.store.find_tenant("default").await.unwrap().unwrap();
        let operator = scimd::store::Actor::system("command line");
        app.store.add_domain(tenant, "Contoso.com", true, &operator).await.unwrap();
        app.store.remove_domain(tenant, "contoso.com", &operator).await.unwrap();
        let log = events(&app, "?resourceType=Domain").await;
        assert_eq!(operations(&log), ["create", "delete"]);
        assert_eq!(log["Resources"][0]["resourceId"], "contoso.com");
        assert_eq!(log["Resources"][0]["changes"], json!({"initial": {"after": true}}));
        assert_eq!(log["Resources"][1]["actor"]["name"], "command line");
    }

    async fn the_log_is_filtered_paged_and_read_by_administrators_only(app: TestApp) {
        for name in ["a", "b", "c"] {
            app.create_user(name).await;
        }
        let user = app.create_user("d").await;
        assert_eq!(app.delete(&format!("/Users/{}", id(&user))).await.status(), 204);

        assert_eq!(operations(&events(&app, "?operation=delete").await), ["delete"]);
        let page = events(&app, "?resourceType=User&count=2&startIndex=2").await;
        assert_eq!((page["totalResults"].clone(), page["startIndex"].clone(), page["itemsPerPage"].clone()), (json!(5), json!(2), json!(2)));
        assert_eq!(events(&app, "?since=2999-01-01T00:00:00Z").await["totalResults"], 0);
        assert_eq!(events(&app, "?until=2000-01-01T00:00:00Z").await["totalResults"], 0);
        assert_eq!(events(&app, "?resourceType=User&since=2000-01-01T00:00:00Z").await["totalResults"], 5);

        for bad in ["?operation=rename", "?since=yesterday", "?actor=me", "?resourceType=Tenant"] {
            let err = scim_error(app.get(&format!("/Admin/AuditEvents{bad}")).await, 400).await;
            assert_eq!(err["scimType"], "invalidValue", "{bad}");
        }
        let (writer, _) = token(&app, "writer", &["write"]).await;
        scim_error(app.send_as(&writer, Method::GET, "/Admin/AuditEvents", None).await, 403).await;

        // Another tenant's log is its own.
        let other = app.token_for("other", &[scimd::store::Scope::Admin]).await;
        let res = app.send_as(&other, Method::GET, "/Admin/AuditEvents", None).await;
        let theirs: Value = res.json().await.unwrap();
        // Only the creation of its own admin token.
        assert_eq!(theirs["totalResults"], 1, "{theirs}");
        assert_eq!(theirs["Resources"][0]["resourceType"], "Token");
    }
    async fn the_log_reads_newest_first_when_sorted_descending(app: TestApp) {
        for name in ["first", "second", "third"] {
            app.create_user(name).await;
        }

        let newest = events(&app, "?resourceType=User&sortOrder=descending&count=2").await;
        let oldest = events(&app, "?resourceType=User&sortOrder=ascending&count=2").await;

        let names = |page: &Value| -> Vec<String> {
            page["Resources"].as_array().unwrap().iter().map(|e| e["changes"]["userName"]["after"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(names(&newest), ["third", "second"]);
        assert_eq!(names(&oldest), ["first", "second"]);
        assert_eq!(newest["totalResults"], 3);
        let err = scim_error(app.get("/Admin/AuditEvents?sortOrder=sideways").await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("sortOrder"), "{err}");
    }
}
