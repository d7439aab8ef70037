//! Bad input: every malformed request gets a SCIM error with the right status and
//! `scimType`, and changes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{behaviour, scim_error, TestApp, USER};

async fn user_count(app: &TestApp) -> u64 {
    let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
    list["totalResults"].as_u64().unwrap()
}

behaviour! {
    async fn an_error_quotes_the_request_id_its_log_line_carries(app: TestApp) {
        // scimd's own id when the client sends none.
        let res = app.get("/Users/nobody").await;
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = scim_error(res, 404).await;
        assert!(body["detail"].as_str().unwrap().ends_with(&format!("(request id {id})")), "{body}");
        // The client's own, from a proxy or its tracing, is kept and quoted.
        let res = app
            .client
            .get(app.url("/Users/nobody"))
            .bearer_auth(&app.token)
            .header("x-request-id", "client-7f3a")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-request-id"], "client-7f3a");
        let body = scim_error(res, 404).await;
        assert!(body["detail"].as_str().unwrap().ends_with("(request id client-7f3a)"), "{body}");
        // A success has the header and no such text anywhere.
        let res = app.get("/Users?count=0").await;
        assert!(res.headers().contains_key("x-request-id"));
    }

    async fn malformed_json_is_invalid_syntax(app: TestApp) {
        let res = app
            .client
            .post(app.url("/Users"))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body("{\"userName\": ")
            .send()
            .await
            .unwrap();
        let err = scim_error(res, 400).await;
        assert_eq!(err["scimType"], "invalidSyntax");
        assert_eq!(user_count(&app).await, 0);
    }

    async fn wrong_content_type_is_415(app: TestApp) {
        let res = app
            .client
            .post(app.url("/Users"))
            .bearer_auth(&app.token)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap();
        scim_error(res, 415).await;
    }

    async fn plain_application_json_is_accepted(app: TestApp) {
        let res = app
            .client
            .post(app.url("/Users"))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(json!({"schemas": [USER], "userName": "j"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    async fn a_body_over_the_limit_is_413(app: TestApp) {
        let big = json!({"schemas": [USER], "userName": "big", "title": "x".repeat(2 * 1024 * 1024)});
        let res = app.post("/Users", big).await;
        scim_error(res, 413).await;
        assert_eq!(user_count(&app).await, 0);
    }

    async fn unknown_attributes_are_invalid_syntax_naming_them(app: TestApp) {
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "u", "favouriteColour": "blue"})).await;
        let err = scim_error(res, 400).await;
        assert_eq!(err["scimType"], "invalidSyntax");
        assert!(err["detail"].as_str().unwrap().contains("favouriteColour"));
        assert_eq!(user_count(&app).await, 0);
    }

    async fn wrong_types_are_invalid_syntax(app: TestApp) {
        for body in [
            json!({"schemas": [USER], "userName": 42}),
            json!({"schemas": [USER], "userName": "u", "active": "maybe"}),
            json!({"schemas": [USER], "userName": "u", "emails": "a@b.c"}),
            json!({"schemas": [USER], "userName": "u", "name": "Barbara"}),
            json!(["not", "an", "object"]),
        ] {
            let err = scim_error(app.post("/Users", body).await, 400).await;
            assert_eq!(err["scimType"], "invalidSyntax");
        }
        assert_eq!(user_count(&app).await, 0);
    }

    async fn missing_user_name_is_invalid_value(app: TestApp) {
        let err = scim_error(app.post("/Users", json!({"schemas": [USER], "displayName": "no name"})).await, 400).await;
        assert_eq!(err["scimType"], "invalidValue");
    }

    async fn a_schema_of_another_resource_type_is_refused(app: TestApp) {
        let err = scim_error(
            app.post("/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "x"})).await,
            400,
        )
        .await;
        assert_eq!(err["scimType"], "invalidSyntax");
    }

    async fn bad_paging_and_sorting_parameters_are_clear_errors(app: TestApp) {
        scim_error(app.get("/Users?count=lots").await, 400).await;
        let err = scim_error(app.get("/Users?sortBy=userName&sortOrder=sideways").await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("sortOrder"));
        let err = scim_error(app.get("/Users?attributes=userName&excludedAttributes=emails").await, 400).await;
        assert_eq!(err["scimType"], "invalidValue");
    }

    async fn sort_by_user_name_orders_the_list(app: TestApp) {
        for n in ["carol", "alice", "Bob"] {
            app.create_user(n).await;
        }
        let list: Value = app.get("/Users?sortBy=userName&sortOrder=descending").await.json().await.unwrap();
        let names: Vec<&str> =
            list["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
        assert_eq!(names, ["carol", "Bob", "alice"]);
    }
}
