//! The tenant's directory rules over HTTP: usage location, admin roles and alternate emails,
//! and users synchronized from an on-premises directory, on every write path.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, TestApp, PATCH_OP, USER};

const DIR: &str = "urn:scimd:schemas:extension:directory:2.0:User";

fn user(name: &str, ext: Value) -> Value {
    json!({"schemas": [USER, DIR], "userName": name, DIR: ext})
}

async fn count(app: &TestApp) -> u64 {
    let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
    list["totalResults"].as_u64().unwrap()
}

behaviour! {
    async fn the_extension_is_published_in_schemas_and_resource_types(app: TestApp) {
        let schema: Value = app.get(&format!("/Schemas/{DIR}")).await.json().await.unwrap();
        let names: Vec<&str> = schema["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["usageLocation", "alternateEmails", "adminRoles", "licenses", "officeLocation", "importSource", "onPremisesSyncEnabled"]
        );
        let rt: Value = app.get("/ResourceTypes/User").await.json().await.unwrap();
        assert!(rt["schemaExtensions"].as_array().unwrap().iter().any(|e| e["schema"] == DIR));
    }

    async fn usage_location_is_checked_and_written_in_capitals(app: TestApp) {
        let res = app.post("/Users", user("loc", json!({"usageLocation": "nl"}))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body[DIR]["usageLocation"], "NL");
        scim_error(app.post("/Users", user("bad", json!({"usageLocation": "Holland"}))).await, 400).await;
    }

    async fn admin_roles_need_an_alternate_email_on_every_write_path(app: TestApp) {
        let roles = json!({"adminRoles": [{"value": "Global administrator"}]});
        scim_error(app.post("/Users", user("admin", roles.clone())).await, 400).await;
        let plain = app.create_user("plain").await;
        let path = format!("/Users/{}", id(&plain));
        scim_error(app.put(&path, user("plain", roles.clone())).await, 400).await;
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": format!("{DIR}:adminRoles"), "value": [{"value": "Billing administrator"}]}]});
        scim_error(app.patch(&path, patch).await, 400).await;
        let stored: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(stored, plain);
        let ok = json!({"alternateEmails": [{"value": "me@home.example"}], "adminRoles": [{"value": "password administrator"}]});
        let res = app.put(&path, user("plain", ok)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body[DIR]["adminRoles"][0]["value"], "Password administrator");
    }

    async fn unknown_roles_and_a_sixth_alternate_email_are_refused(app: TestApp) {
        let err = scim_error(
            app.post("/Users", user("r", json!({"alternateEmails": [{"value": "a@b.example"}], "adminRoles": [{"value": "Emperor"}]}))).await,
            400,
        )
        .await;
        assert!(err["detail"].as_str().unwrap().contains("Global administrator"));
        let six: Vec<Value> = (0..6).map(|i| json!({"value": format!("a{i}@b.example")})).collect();
        scim_error(app.post("/Users", user("e", json!({"alternateEmails": six}))).await, 400).await;
        assert_eq!(count(&app).await, 0);
    }

    async fn users_the_sync_connector_writes_are_locked_for_other_tokens(app: TestApp) {
        let sync = app.token_for("default", &[Scope::Sync]).await;
        let res = app.send_as(&sync, Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "onprem"}))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let synced: Value = res.json().await.unwrap();
        assert_eq!(synced[DIR]["onPremisesSyncEnabled"], true);
        let path = format!("/Users/{}", id(&synced));
        // Reads are not affected; writes by the admin token are refused and change nothing.
        assert_eq!(app.get(&path).await.status(), StatusCode::OK);
        let err = scim_error(app.put(&path, json!({"schemas": [USER], "userName": "onprem", "title": "x"})).await, 403).await;
        assert!(err["detail"].as_str().unwrap().contains("on-premises directory"));
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]});
        scim_error(app.patch(&path, patch.clone()).await, 403).await;
        scim_error(app.delete(&path).await, 403).await;
        let still: Value = app.get(&path).await.json().await.unwrap();
        assert_eq!(still, synced);
        // The connector itself may change it, and the mark stays.
        let res = app.send_as(&sync, Method::PATCH, &path, Some(patch)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["title"], "x");
        assert_eq!(body[DIR]["onPremisesSyncEnabled"], true);
        // A client cannot set the mark itself: it is read-only.
        let res = app.post("/Users", user("fake", json!({"onPremisesSyncEnabled": true}))).await;
        let body: Value = res.json().await.unwrap();
        assert!(body.get(DIR).is_none());
    }

    async fn a_bulk_edit_applies_to_cloud_users_and_refuses_each_synced_one(app: TestApp) {
        let sync = app.token_for("default", &[Scope::Sync]).await;
        let mut ops = Vec::new();
        for i in 0..5 {
            let token = if i < 3 { &sync } else { &app.token };
            let res = app.send_as(token, Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": format!("u{i}")}))).await;
            let u: Value = res.json().await.unwrap();
            ops.push(json!({"method": "PATCH", "path": format!("/Users/{}", id(&u)),
                "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Edited"}]}}));
        }
        let res = app.post("/Bulk", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})).await;
        let body: Value = res.json().await.unwrap();
        let statuses: Vec<&str> = body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["403", "403", "403", "200", "200"]);
        let edited: Value = app.get("/Users?filter=title%20eq%20%22Edited%22&count=0").await.json().await.unwrap();
        assert_eq!(edited["totalResults"], 2);
    }

    async fn with_verified_domains_user_names_must_use_them_and_the_initial_domain_comes_first(app: TestApp) {
        app.create_user("anyone@anywhere.example").await;
        let tenant = app.store.find_tenant("default").await.unwrap().unwrap();
        app.store.add_domain(tenant, "contoso.com", false, &crate::helpers::test_actor()).await.unwrap();
        app.store.add_domain(tenant, "contoso.onmicrosoft.com", true, &crate::helpers::test_actor()).await.unwrap();
        let err = scim_error(app.post("/Users", json!({"schemas": [USER], "userName": "geoff@fabrikam.com"})).await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("contoso.com"));
        // Initial domain first, then the custom domain: allowed.
        app.create_user("geoff@contoso.onmicrosoft.com").await;
        app.create_user("geoff@contoso.com").await;
        // Custom domain first, then the initial domain: refused, and nothing is written.
        app.create_user("anna@contoso.com").await;
        let err = scim_error(app.post("/Users", json!({"schemas": [USER], "userName": "Anna@contoso.onmicrosoft.com"})).await, 409).await;
        assert_eq!(err["scimType"], "uniqueness");
        assert!(err["detail"].as_str().unwrap().contains("anna@contoso.com"));
        // The same rule on a rename through PATCH.
        let bob = app.create_user("bob@contoso.com").await;
        let other = app.create_user("x@contoso.onmicrosoft.com").await;
        let rename = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "bob@contoso.onmicrosoft.com"}]});
        scim_error(app.patch(&format!("/Users/{}", id(&other)), rename).await, 409).await;
        let moved = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "bob@fabrikam.com"}]});
        scim_error(app.patch(&format!("/Users/{}", id(&bob)), moved).await, 400).await;
        let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 6);
    }
}
