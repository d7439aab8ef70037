//! Discovery: `/ServiceProviderConfig` (and its Microsoft alias), `/Schemas`, `/ResourceTypes`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{behaviour, scim_error};

behaviour! {
    async fn service_provider_config_is_served_under_both_names(app: TestApp) {
        for path in ["/ServiceProviderConfig", "/serviceConfiguration"] {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::OK);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]));
            assert_eq!(body["etag"]["supported"], true);
            assert_eq!(body["bulk"]["supported"], true);
            assert!(body["filter"]["maxResults"].as_u64().unwrap() > 0);
            assert!(body["authenticationSchemes"].as_array().unwrap().iter().any(|s| s["type"] == "oauthbearertoken"));
        }
    }

    async fn schemas_list_and_single_schema(app: TestApp) {
        let list: Value = app.get("/Schemas").await.json().await.unwrap();
        let ids: Vec<&str> = list["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        for urn in [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ] {
            assert!(ids.contains(&urn), "{urn} listed");
        }
        assert_eq!(list["totalResults"].as_u64().unwrap() as usize, ids.len());
        let user: Value = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await.json().await.unwrap();
        let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["uniqueness"], "server");
        assert!(user["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"));
        scim_error(app.get("/Schemas/urn:nope").await, 404).await;
    }

    async fn resource_types_list_user_group_and_license_with_extensions(app: TestApp) {
        let list: Value = app.get("/ResourceTypes").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 3);
        let license: Value = app.get("/ResourceTypes/License").await.json().await.unwrap();
        assert_eq!(license["endpoint"], "/Licenses");
        assert_eq!(license["schema"], "urn:scimd:schemas:core:2.0:License");
        let user: Value = app.get("/ResourceTypes/User").await.json().await.unwrap();
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schemaExtensions"][0]["schema"], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
        scim_error(app.get("/ResourceTypes/Printer").await, 404).await;
    }

    async fn writes_to_discovery_endpoints_are_405(app: TestApp) {
        for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
            let res = app.send(Method::POST, path, Some(json!({}))).await;
            scim_error(res, 405).await;
        }
        scim_error(app.send(Method::DELETE, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", None).await, 405).await;
    }

    async fn me_says_clearly_that_it_is_not_built(app: TestApp) {
        scim_error(app.get("/Me").await, 501).await;

    }

    async fn endpoint_names_in_any_case_and_with_a_trailing_slash_answer_as_the_canonical_ones(app: TestApp) {
        let user = app.create_user("casey@example.com").await;
        let canonical: Value = app.get("/Users").await.json().await.unwrap();
        for path in ["/users", "/USERS/", "/Users/"] {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(res.json::<Value>().await.unwrap(), canonical, "{path}");
        }
        let filtered: Value =
            app.get("/Users/?filter=userName%20eq%20%22casey@example.com%22").await.json().await.unwrap();
        assert_eq!(filtered["totalResults"], 1);
        let one: Value = app.get(&format!("/users/{}/", crate::helpers::id(&user))).await.json().await.unwrap();
        assert_eq!(one["userName"], "casey@example.com");
        assert!(one["meta"]["location"].as_str().unwrap().contains("/scim/v2/Users/"), "location stays canonical");
        for (sent, canonical) in [
            ("/schemas", "/Schemas"),
            ("/serviceproviderconfig/", "/ServiceProviderConfig"),
            ("/resourcetypes", "/ResourceTypes"),
            ("/GROUPS", "/Groups"),
        ] {
            let a: Value = app.get(sent).await.json().await.unwrap();
            let b: Value = app.get(canonical).await.json().await.unwrap();
            assert_eq!(a, b, "{sent}");
        }
        let created = app
            .send(Method::POST, "/groups/", Some(json!({"schemas": [crate::helpers::GROUP], "displayName": "Slash"})))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        assert!(created.headers()["location"].to_str().unwrap().contains("/scim/v2/Groups/"));
        let health = app.client.get(format!("{}/healthz/", app.base)).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }

    async fn unknown_paths_are_scim_404(app: TestApp) {
        scim_error(app.get("/Printers").await, 404).await;
    }
}
