//! Licenses with seats: the License resource, and users' `licenses` taking and freeing seats
//! on every write path, with the seat check decided by the database under concurrency.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use scimd::store::Scope;

use crate::helpers::{behaviour, id, scim_error, TestApp, PATCH_OP, USER};

const LICENSE: &str = "urn:scimd:schemas:core:2.0:License";
const DIR: &str = "urn:scimd:schemas:extension:directory:2.0:User";

async fn add_license(app: &TestApp, part: &str, seats: i64) -> String {
    let body = json!({"schemas": [LICENSE], "partNumber": part, "displayName": format!("{part} plan"), "seats": seats});
    let res = app.post("/Licenses", body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "creating license {part}");
    let license: Value = res.json().await.unwrap();
    id(&license).to_owned()
}

async fn license(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/Licenses/{id}")).await.json().await.unwrap()
}

/// A licensed user's body: usage location set, holding these licenses.
fn licensed(name: &str, licenses: &[&str]) -> Value {
    let licenses: Vec<Value> = licenses.iter().map(|l| json!({"value": l})).collect();
    json!({"schemas": [USER, DIR], "userName": name, DIR: {"usageLocation": "NL", "licenses": licenses}})
}

fn patch(op: &str, path: &str, value: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]})
}

async fn user_count(app: &TestApp) -> u64 {
    let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
    list["totalResults"].as_u64().unwrap()
}

fn seats(license: &Value) -> (i64, i64, i64) {
    (license["seats"].as_i64().unwrap(), license["consumed"].as_i64().unwrap(), license["available"].as_i64().unwrap())
}

behaviour! {
    async fn forty_rounds_of_racing_restores_and_purges_answer_no_5xx_and_seats_equal_holders(app: TestApp) {
        let e3 = add_license(&app, "RACE", 5).await;
        let second = app.second_server().await;
        let user: Value = app.post("/Users", licensed("racer@contoso.com", &[&e3])).await.json().await.unwrap();
        let uid = id(&user).to_owned();
        let restore = |base: &str| {
            app.client.post(format!("{base}/scim/v2/Admin/DeletedUsers/{uid}/restore")).bearer_auth(&app.token).send()
        };
        let purge = |base: &str| app.client.delete(format!("{base}/scim/v2/Admin/DeletedUsers/{uid}")).bearer_auth(&app.token).send();

        for round in 0..40 {
            assert_eq!(app.delete(&format!("/Users/{uid}")).await.status(), StatusCode::NO_CONTENT, "round {round}");
            assert_eq!(license(&app, &e3).await["consumed"], 0, "deleting frees the seat");
            let (a, b) = if round < 39 {
                futures::join!(restore(&app.base), restore(&second))
            } else {
                futures::join!(restore(&app.base), purge(&second))
            };
            let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
            statuses.sort_unstable();
            let holders = u64::from(app.get(&format!("/Users/{uid}")).await.status() == StatusCode::OK);
            assert_eq!(license(&app, &e3).await["consumed"], holders, "round {round}: seats equal holders");
            if round < 39 {
                assert_eq!(statuses, [200, 404], "round {round}: one restore wins, the other finds nothing");
            } else {
                assert!(statuses == [200, 404] || statuses == [204, 404], "restore against purge: {statuses:?}");
            }
        }
    }

    async fn admins_create_and_change_licenses_and_every_token_reads_them(app: TestApp) {
        let res = app
            .post("/Licenses", json!({"schemas": [LICENSE], "partNumber": "ENTERPRISEPACK", "displayName": "Office 365 E3", "seats": 3, "consumed": 99}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(res.headers()["location"].to_str().unwrap().contains("/scim/v2/Licenses/"));
        let created: Value = res.json().await.unwrap();
        assert_eq!(created["schemas"], json!([LICENSE]));
        assert_eq!(created["meta"]["resourceType"], "License");
        // consumed is read-only: what the client sent is ignored.
        assert_eq!(seats(&created), (3, 0, 3));

        let reader = app.token_for("default", &[Scope::Read]).await;
        let res = app.send_as(&reader, Method::GET, &format!("/Licenses/{}", id(&created)), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let writer = app.token_for("default", &[Scope::Write]).await;
        let res = app
            .send_as(&writer, Method::POST, "/Licenses", Some(json!({"schemas": [LICENSE], "partNumber": "X", "seats": 1})))
            .await;
        let err = scim_error(res, 403).await;
        assert!(err["detail"].as_str().unwrap().contains("admin"));
        let res = app.send_as(&writer, Method::PATCH, &format!("/Licenses/{}", id(&created)), Some(patch("replace", "seats", json!(100)))).await;
        scim_error(res, 403).await;

        let dup = app.post("/Licenses", json!({"schemas": [LICENSE], "partNumber": "enterprisepack", "seats": 1})).await;
        let err = scim_error(dup, 409).await;
        assert_eq!(err["scimType"], "uniqueness");
        assert!(err["detail"].as_str().unwrap().contains("partNumber"));
        let neg = app.post("/Licenses", json!({"schemas": [LICENSE], "partNumber": "NEG", "seats": -1})).await;
        assert_eq!(scim_error(neg, 400).await["scimType"], "invalidValue");
        let missing = app.post("/Licenses", json!({"schemas": [LICENSE], "partNumber": "NOSEATS"})).await;
        scim_error(missing, 400).await;

        let res = app.patch(&format!("/Licenses/{}", id(&created)), patch("replace", "seats", json!(5))).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(seats(&res.json().await.unwrap()), (5, 0, 5));
        let put = json!({"schemas": [LICENSE], "partNumber": "ENTERPRISEPACK", "displayName": "E3", "seats": 7});
        let res = app.put(&format!("/Licenses/{}", id(&created)), put).await;
        assert_eq!(res.status(), StatusCode::OK);
        let replaced: Value = res.json().await.unwrap();
        assert_eq!(replaced["displayName"], "E3");
        assert_eq!(seats(&replaced), (7, 0, 7));

        assert_eq!(app.delete(&format!("/Licenses/{}", id(&created))).await.status(), StatusCode::NO_CONTENT);
        scim_error(app.get(&format!("/Licenses/{}", id(&created))).await, 404).await;
    }

    async fn licenses_are_filtered_and_sorted_on_their_seats(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 2).await;
        let e5 = add_license(&app, "ENTERPRISEPREMIUM", 10).await;
        app.post("/Users", licensed("a@example.com", &[&e3])).await;
        app.post("/Users", licensed("b@example.com", &[&e3])).await;
        let ids = |list: Value| -> Vec<String> {
            list["Resources"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
        };
        let app = &app;
        let get = |q: &str| {
            let path = format!("/Licenses?{q}");
            async move { app.get(&path).await }
        };
        assert_eq!(ids(get("filter=partNumber%20eq%20%22enterprisepack%22").await.json().await.unwrap()), [e3.as_str()]);
        assert_eq!(ids(get("filter=available%20gt%200").await.json().await.unwrap()), [e5.as_str()]);
        assert_eq!(ids(get("filter=consumed%20eq%202").await.json().await.unwrap()), [e3.as_str()]);
        assert_eq!(ids(get("filter=seats%20ge%202%20and%20available%20pr").await.json().await.unwrap()), [e3.clone(), e5.clone()]);
        assert_eq!(ids(get("sortBy=available&sortOrder=descending").await.json().await.unwrap()), [e5.clone(), e3.clone()]);
        // Users are found by the license they hold.
        let holders: Value = app.get(&format!("/Users?filter={DIR}:licenses.value%20eq%20%22{e3}%22")).await.json().await.unwrap();
        assert_eq!(holders["totalResults"], 2);
        let bad = get("filter=available%20eq%20%22many%22").await;
        assert_eq!(scim_error(bad, 400).await["scimType"], "invalidFilter");
    }

    async fn assigning_licenses_takes_seats_and_refuses_the_one_too_many(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 2).await;
        let a = app.post("/Users", licensed("a@example.com", &[&e3])).await;
        assert_eq!(a.status(), StatusCode::CREATED);
        let a: Value = a.json().await.unwrap();
        assert_eq!(a[DIR]["licenses"], json!([{"value": e3}]));
        assert_eq!(app.post("/Users", licensed("b@example.com", &[&e3])).await.status(), StatusCode::CREATED);
        assert_eq!(seats(&license(&app, &e3).await), (2, 2, 0));

        let res = app.post("/Users", licensed("c@example.com", &[&e3])).await;
        let err = scim_error(res, 409).await;
        let detail = err["detail"].as_str().unwrap();
        assert!(detail.contains("ENTERPRISEPACK") && detail.contains("all 2 seats"), "{detail}");
        assert!(err.get("scimType").is_none());
        assert_eq!(user_count(&app).await, 2, "nothing written");
        assert_eq!(seats(&license(&app, &e3).await), (2, 2, 0));

        // PATCH: removing frees the seat, and another user can take it.
        let res = app.patch(&format!("/Users/{}", id(&a)), patch("remove", &format!("{DIR}:licenses[value eq \"{e3}\"]"), Value::Null)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(seats(&license(&app, &e3).await), (2, 1, 1));
        let c = app.create_user("c@example.com").await;
        let add = json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": format!("{DIR}:usageLocation"), "value": "DE"},
            {"op": "add", "path": format!("{DIR}:licenses"), "value": [{"value": e3}]}
        ]});
        assert_eq!(app.patch(&format!("/Users/{}", id(&c)), add.clone()).await.status(), StatusCode::OK);
        assert_eq!(seats(&license(&app, &e3).await), (2, 2, 0));
        // Adding it again takes nothing more.
        assert_eq!(app.patch(&format!("/Users/{}", id(&c)), add).await.status(), StatusCode::OK);
        assert_eq!(seats(&license(&app, &e3).await), (2, 2, 0));
        // ...and a is refused, unchanged.
        let res = app.patch(&format!("/Users/{}", id(&a)), patch("add", &format!("{DIR}:licenses"), json!([{"value": e3}]))).await;
        scim_error(res, 409).await;
        let a_now: Value = app.get(&format!("/Users/{}", id(&a))).await.json().await.unwrap();
        assert!(a_now[DIR].get("licenses").is_none());
        assert_eq!(a_now["meta"]["version"], "W/\"2\"");
    }

    async fn put_replaces_licenses_and_moves_seats(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 1).await;
        let e5 = add_license(&app, "ENTERPRISEPREMIUM", 1).await;
        let user: Value = app.post("/Users", licensed("a@example.com", &[&e3])).await.json().await.unwrap();
        let res = app.put(&format!("/Users/{}", id(&user)), licensed("a@example.com", &[&e5])).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(seats(&license(&app, &e3).await), (1, 0, 1));
        assert_eq!(seats(&license(&app, &e5).await), (1, 1, 0));
        // The same license twice is one seat, listed once.
        let res = app.put(&format!("/Users/{}", id(&user)), licensed("a@example.com", &[&e3, &e3, &e5])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body[DIR]["licenses"].as_array().unwrap().len(), 2);
        assert_eq!(seats(&license(&app, &e3).await), (1, 1, 0));
    }

    async fn a_license_needs_a_usage_location_and_must_exist(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 5).await;
        let body = json!({"schemas": [USER, DIR], "userName": "nowhere", DIR: {"licenses": [{"value": e3}]}});
        let err = scim_error(app.post("/Users", body).await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("usageLocation"));
        let err = scim_error(app.post("/Users", licensed("ghost", &["no-such-license"])).await, 400).await;
        assert_eq!(err["scimType"], "invalidValue");
        assert!(err["detail"].as_str().unwrap().contains("no-such-license"));
        // Another tenant's license is no license of this one.
        let other = app.token_for("fabrikam", &[Scope::Admin]).await;
        let res = app
            .send_as(&other, Method::POST, "/Licenses", Some(json!({"schemas": [LICENSE], "partNumber": "ENTERPRISEPACK", "seats": 5})))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "part numbers are unique per tenant");
        let theirs: Value = res.json().await.unwrap();
        scim_error(app.post("/Users", licensed("thief", &[id(&theirs)])).await, 400).await;
        scim_error(app.get(&format!("/Licenses/{}", id(&theirs))).await, 404).await;
        assert_eq!(user_count(&app).await, 0);
        assert_eq!(seats(&license(&app, &e3).await), (5, 0, 5));
    }

    async fn seats_never_drop_below_those_assigned_and_a_held_license_is_not_deleted(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 3).await;
        let a: Value = app.post("/Users", licensed("a@example.com", &[&e3])).await.json().await.unwrap();
        app.post("/Users", licensed("b@example.com", &[&e3])).await;
        let err = scim_error(app.patch(&format!("/Licenses/{e3}"), patch("replace", "seats", json!(1))).await, 409).await;
        assert!(err["detail"].as_str().unwrap().contains("2 are assigned"), "{err}");
        let put = json!({"schemas": [LICENSE], "partNumber": "ENTERPRISEPACK", "seats": 0});
        scim_error(app.put(&format!("/Licenses/{e3}"), put).await, 409).await;
        assert_eq!(seats(&license(&app, &e3).await), (3, 2, 1));
        assert_eq!(app.patch(&format!("/Licenses/{e3}"), patch("replace", "seats", json!(2))).await.status(), StatusCode::OK);

        let err = scim_error(app.delete(&format!("/Licenses/{e3}")).await, 409).await;
        assert!(err["detail"].as_str().unwrap().contains("assigned to 2 users"));
        // A deleted user frees its seat at once.
        assert_eq!(app.delete(&format!("/Users/{}", id(&a))).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(seats(&license(&app, &e3).await), (2, 1, 1));
    }

    async fn restore_takes_seats_again_and_fails_clearly_when_none_is_free(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 1).await;
        let a: Value = app.post("/Users", licensed("a@example.com", &[&e3])).await.json().await.unwrap();
        app.delete(&format!("/Users/{}", id(&a))).await;
        let b: Value = app.post("/Users", licensed("b@example.com", &[&e3])).await.json().await.unwrap();
        let res = app.post(&format!("/Admin/DeletedUsers/{}/restore", id(&a)), json!({})).await;
        let err = scim_error(res, 409).await;
        assert!(err["detail"].as_str().unwrap().contains("ENTERPRISEPACK"));
        let deleted: Value = app.get("/Admin/DeletedUsers").await.json().await.unwrap();
        assert_eq!(deleted["totalResults"], 1, "still deleted");
        assert_eq!(seats(&license(&app, &e3).await), (1, 1, 0));

        app.delete(&format!("/Users/{}", id(&b))).await;
        let res = app.post(&format!("/Admin/DeletedUsers/{}/restore", id(&a)), json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let restored: Value = res.json().await.unwrap();
        assert_eq!(restored[DIR]["licenses"], json!([{"value": e3}]));
        assert_eq!(seats(&license(&app, &e3).await), (1, 1, 0));
    }

    async fn restore_drops_a_license_deleted_meanwhile(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 1).await;
        let a: Value = app.post("/Users", licensed("a@example.com", &[&e3])).await.json().await.unwrap();
        app.delete(&format!("/Users/{}", id(&a))).await;
        assert_eq!(app.delete(&format!("/Licenses/{e3}")).await.status(), StatusCode::NO_CONTENT);
        let res = app.post(&format!("/Admin/DeletedUsers/{}/restore", id(&a)), json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let restored: Value = app.get(&format!("/Users/{}", id(&a))).await.json().await.unwrap();
        assert!(restored[DIR].get("licenses").is_none_or(|l| l == &json!([])), "{restored}");
    }

    async fn bulk_checks_seats_per_operation(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 2).await;
        let mut ops = Vec::new();
        for i in 0..3 {
            let u = app.create_user(&format!("u{i}@example.com")).await;
            ops.push(json!({"method": "PATCH", "path": format!("/Users/{}", id(&u)), "data": {
                "schemas": [PATCH_OP], "Operations": [
                    {"op": "add", "path": format!("{DIR}:usageLocation"), "value": "NL"},
                    {"op": "add", "path": format!("{DIR}:licenses"), "value": [{"value": e3}]}
                ]}}));
        }
        ops.push(json!({"method": "POST", "path": "/Licenses", "bulkId": "e5", "data": {"schemas": [LICENSE], "partNumber": "ENTERPRISEPREMIUM", "seats": 1}}));
        ops.push(json!({"method": "POST", "path": "/Users", "bulkId": "d", "data": licensed("d@example.com", &["bulkId:e5"])}));
        let res = app.post("/Bulk", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let statuses: Vec<&str> = body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["200", "200", "409", "201", "201"]);
        assert!(body["Operations"][2]["response"]["detail"].as_str().unwrap().contains("ENTERPRISEPACK"));
        assert_eq!(seats(&license(&app, &e3).await), (2, 2, 0));
        let e5: Value = app.get("/Licenses?filter=partNumber%20eq%20%22ENTERPRISEPREMIUM%22").await.json().await.unwrap();
        assert_eq!(e5["Resources"][0]["consumed"], 1);

        // Licenses are the administrators' even in a bulk.
        let writer = app.token_for("default", &[Scope::Write]).await;
        let op = json!({"method": "POST", "path": "/Licenses", "bulkId": "x", "data": {"schemas": [LICENSE], "partNumber": "X", "seats": 1}});
        let res = app
            .send_as(&writer, Method::POST, "/Bulk", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [op]})))
            .await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["Operations"][0]["status"], "403");
    }

    async fn the_schema_lists_the_tenants_license_ids_as_canonical_values(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 1).await;
        let e5 = add_license(&app, "ENTERPRISEPREMIUM", 1).await;
        let other = app.token_for("fabrikam", &[Scope::Admin]).await;
        app.send_as(&other, Method::POST, "/Licenses", Some(json!({"schemas": [LICENSE], "partNumber": "THEIRS", "seats": 1}))).await;
        let schema: Value = app.get(&format!("/Schemas/{DIR}")).await.json().await.unwrap();
        let licenses = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "licenses").unwrap();
        let value = licenses["subAttributes"].as_array().unwrap().iter().find(|a| a["name"] == "value").unwrap();
        assert_eq!(value["canonicalValues"], json!([e3, e5]));
        let all: Value = app.get("/Schemas").await.json().await.unwrap();
        let listed = all["Resources"].as_array().unwrap().iter().find(|s| s["id"] == DIR).unwrap();
        assert_eq!(listed, &schema);
        assert!(all["Resources"].as_array().unwrap().iter().any(|s| s["id"] == LICENSE));
    }

    async fn the_last_seat_goes_to_exactly_one_of_many_simultaneous_writers(app: TestApp) {
        let e3 = add_license(&app, "ENTERPRISEPACK", 1).await;
        let second = app.second_server().await;
        let bases = [app.base.clone(), second];
        let creates = (0..20).map(|i| {
            app.client
                .post(format!("{}/scim/v2/Users", bases[i % 2]))
                .bearer_auth(&app.token)
                .header("content-type", "application/scim+json")
                .body(licensed(&format!("racer{i}@example.com"), &[&e3]).to_string())
                .send()
        });
        let statuses: Vec<u16> = join_all(creates).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
        assert_eq!(user_count(&app).await, 1);
        assert_eq!(seats(&license(&app, &e3).await), (1, 1, 0));

        // The same race through PATCH on existing users, after the seat is freed.
        let holder: Value = app.get("/Users").await.json().await.unwrap();
        app.delete(&format!("/Users/{}", holder["Resources"][0]["id"].as_str().unwrap())).await;
        let mut users = Vec::new();
        for i in 0..20 {
            users.push(id(&app.create_user(&format!("patcher{i}@example.com")).await).to_owned());
        }
        let body = json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": format!("{DIR}:usageLocation"), "value": "NL"},
            {"op": "add", "path": format!("{DIR}:licenses"), "value": [{"value": e3}]}
        ]});
        let patches = users.iter().enumerate().map(|(i, u)| {
            app.client
                .patch(format!("{}/scim/v2/Users/{u}", bases[i % 2]))
                .bearer_auth(&app.token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
        });
        let statuses: Vec<u16> = join_all(patches).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
        assert_eq!(seats(&license(&app, &e3).await), (1, 1, 0));
        let holders: Value = app.get(&format!("/Users?filter={DIR}:licenses.value%20eq%20%22{e3}%22")).await.json().await.unwrap();
        assert_eq!(holders["totalResults"], 1);
    }
}
