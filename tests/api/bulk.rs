//! `/Bulk`: bulkId references (forward and circular), failOnErrors, limits, and partial
//! failure where one operation's error leaves the others applied.

use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, TestApp, GROUP, USER};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn request(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

async fn run(app: &TestApp, body: Value) -> Vec<Value> {
    let res = app.post("/Bulk", body).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    body["Operations"].as_array().unwrap().clone()
}

fn statuses(ops: &[Value]) -> Vec<&str> {
    ops.iter().map(|o| o["status"].as_str().unwrap()).collect()
}

behaviour! {
    async fn results_come_in_request_order_and_every_one_but_a_failed_post_has_a_location(app: TestApp) {
        let a = app.create_user("a@x.com").await;
        let b = app.create_user("b@x.com").await;
        let (a, b) = (id(&a).to_owned(), id(&b).to_owned());

        let ops = run(&app, request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "u@x.com"}},
            {"method": "DELETE", "path": format!("/Users/{a}"), "version": "W/\"9\""},
            {"method": "DELETE", "path": format!("/Users/{b}")},
            {"method": "DELETE", "path": "/Users/nobody"},
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER]}}
        ]))).await;

        assert_eq!(statuses(&ops), ["201", "201", "412", "204", "404", "400"]);
        assert_eq!((ops[0]["bulkId"].as_str(), ops[1]["bulkId"].as_str()), (Some("g"), Some("u")), "request order");
        for (op, tail) in [(&ops[2], format!("/Users/{a}")), (&ops[3], format!("/Users/{b}")), (&ops[4], "/Users/nobody".to_owned())] {
            let location = op["location"].as_str().unwrap_or_else(|| panic!("a location: {op}"));
            assert!(location.ends_with(&tail) && location.contains("/scim/v2/"), "{location}");
        }
        assert!(ops[5].get("location").is_none(), "a failed POST has no location");
    }

    async fn a_group_may_reference_users_created_later_in_the_same_request(app: TestApp) {
        let ops = run(
            &app,
            request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "Tour Guides",
                    "members": [{"type": "User", "value": "bulkId:alice"}, {"type": "User", "value": "bulkId:bob"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "alice", "data": {"schemas": [USER], "userName": "alice"}},
                {"method": "POST", "path": "/Users", "bulkId": "bob", "data": {"schemas": [USER], "userName": "bob"}},
            ])),
        )
        .await;
        assert_eq!(statuses(&ops), ["201", "201", "201"]);
        let group_op = ops.iter().find(|o| o["bulkId"] == "g").unwrap();
        assert_eq!(group_op["version"], "W/\"1\"");
        let location = group_op["location"].as_str().unwrap();
        let gid = location.rsplit('/').next().unwrap();
        let group: Value = app.get(&format!("/Groups/{gid}")).await.json().await.unwrap();
        let mut names: Vec<&str> = group["members"].as_array().unwrap().iter().map(|m| m["display"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["alice", "bob"]);
    }

    async fn circular_references_are_409_and_unknown_ones_400(app: TestApp) {
        let ops = run(
            &app,
            request(json!([
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"schemas": [GROUP], "displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"schemas": [GROUP], "displayName": "B", "members": [{"value": "bulkId:a"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "u", "externalId": "bulkId:nowhere"}},
            ])),
        )
        .await;
        let by_id = |b: &str| ops.iter().find(|o| o["bulkId"] == b).unwrap().clone();
        assert_eq!(by_id("u")["status"], "400");
        assert_eq!(by_id("u")["response"]["scimType"], "invalidValue");
        assert_eq!(by_id("a")["status"], "409");
        assert_eq!(by_id("b")["status"], "409");
        let groups: Value = app.get("/Groups").await.json().await.unwrap();
        assert_eq!(groups["totalResults"], 0);
    }

    async fn one_failing_operation_leaves_the_others_applied(app: TestApp) {
        app.create_user("taken").await;
        let ops = run(
            &app,
            request(json!([
                {"method": "POST", "path": "/Users", "bulkId": "1", "data": {"schemas": [USER], "userName": "one"}},
                {"method": "POST", "path": "/Users", "bulkId": "2", "data": {"schemas": [USER], "userName": "TAKEN"}},
                {"method": "POST", "path": "/Users", "bulkId": "3", "data": {"schemas": [USER], "userName": "three"}},
            ])),
        )
        .await;
        assert_eq!(statuses(&ops), ["201", "409", "201"]);
        assert_eq!(ops[1]["response"]["scimType"], "uniqueness");
        assert_eq!(ops[1]["response"]["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
        let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 3);
    }

    async fn fail_on_errors_stops_processing_and_leaves_the_rest_unattempted(app: TestApp) {
        let mut body = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "1", "data": {"schemas": [USER]}},
            {"method": "POST", "path": "/Users", "bulkId": "2", "data": {"schemas": [USER], "userName": "never"}},
        ]));
        body["failOnErrors"] = json!(1);
        let ops = run(&app, body).await;
        assert_eq!(statuses(&ops), ["400"]);
        let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 0);
    }

    async fn put_patch_and_delete_operations_honour_version(app: TestApp) {
        let user = app.create_user("v").await;
        let path = format!("/Users/{}", id(&user));
        let ops = run(
            &app,
            request(json!([
                {"method": "PUT", "path": path, "version": "W/\"9\"", "data": {"schemas": [USER], "userName": "v", "title": "no"}},
                {"method": "PUT", "path": path, "version": "W/\"1\"", "data": {"schemas": [USER], "userName": "v", "title": "yes"}},
                {"method": "DELETE", "path": path, "version": "W/\"2\""},
                {"method": "DELETE", "path": "/Users/unknown"},
                {"method": "FETCH", "path": path},
            ])),
        )
        .await;
        assert_eq!(statuses(&ops), ["412", "200", "204", "404", "400"]);
        assert_eq!(ops[1]["version"], "W/\"2\"");
        scim_error(app.get(&path).await, 404).await;
    }

    async fn limits_are_advertised_and_enforced_with_413(app: TestApp) {
        let config: Value = app.get("/ServiceProviderConfig").await.json().await.unwrap();
        assert_eq!(config["bulk"]["supported"], true);
        let max_ops = config["bulk"]["maxOperations"].as_u64().unwrap() as usize;
        let max_bytes = config["bulk"]["maxPayloadSize"].as_u64().unwrap() as usize;
        let too_many: Vec<Value> = (0..=max_ops)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        scim_error(app.post("/Bulk", request(Value::Array(too_many))).await, 413).await;
        let big = json!([{"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER], "userName": "x", "title": "y".repeat(max_bytes)}}]);
        scim_error(app.post("/Bulk", request(big)).await, 413).await;
        // Larger than a single request may be (2.4 MB), within the bulk limit, each value within
        // the 64 KiB a string may hold.
        let ok: Vec<Value> = (0..40)
            .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("x{i}"),
                            "data": {"schemas": [USER], "userName": format!("x{i}"), "title": "y".repeat(60 * 1024)}}))
            .collect();
        assert_eq!(statuses(&run(&app, request(Value::Array(ok))).await), vec!["201"; 40]);
    }

    async fn a_request_without_the_bulk_schema_is_invalid_syntax(app: TestApp) {
        let err = scim_error(app.post("/Bulk", json!({"Operations": []})).await, 400).await;
        assert_eq!(err["scimType"], "invalidSyntax");
    }
}
