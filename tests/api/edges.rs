//! One table of hostile and unusual inputs, fed to both stores: each gets the same status and
//! `scimType` on SQLite and on PostgreSQL, and a refused write changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{behaviour, GROUP, USER};

/// What the server answers: the status and, for errors, the `scimType`.
type Answer = (u16, Option<String>);

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["scimType"].as_str().map(str::to_owned))
}

fn user(user_name: &str, extra: Value) -> Value {
    let mut body = json!({"schemas": [USER], "userName": user_name});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

behaviour! {
    async fn edge_inputs_get_the_same_answer_on_every_store_and_refused_ones_change_nothing(app: TestApp) {
        let long = "x".repeat(3000);
        let ten_kb = "t".repeat(10 * 1024);
        let invalid = Some("invalidValue".to_owned());
        let cases: Vec<(&str, Value, Answer)> = vec![
            ("NUL in userName", user("nul\u{0}@x.com", json!({})), (400, invalid.clone())),
            ("NUL in title", user("t1@x.com", json!({"title": "a\u{0}b"})), (400, invalid.clone())),
            ("escape sequence in title", user("t2@x.com", json!({"title": "\u{1b}[31mred"})), (400, invalid.clone())),
            ("3,000-character userName", user(&format!("{long}@x.com"), json!({})), (400, invalid.clone())),
            ("3,000-character displayName", user("t3@x.com", json!({"displayName": long})), (400, invalid.clone())),
            ("3,000-character externalId", user("t4@x.com", json!({"externalId": long})), (400, invalid.clone())),
            ("3,000-character email", user("t5@x.com", json!({"emails": [{"value": format!("{long}@x.com")}]})), (400, invalid.clone())),
            ("10 KB userName", user(&ten_kb, json!({})), (400, invalid.clone())),
            ("trailing space in userName", user("a@x.com ", json!({})), (400, invalid.clone())),
            ("zero-width space in userName", user("c@x.com\u{200b}", json!({})), (400, invalid.clone())),
            ("RTL mark in userName", user("\u{200f}r@x.com", json!({})), (400, invalid.clone())),
            ("empty userName", user("", json!({})), (400, invalid.clone())),
            ("emoji userName", user("😀@x.com", json!({})), (201, None)),
            ("RTL mark in title", user("rtl@x.com", json!({"title": "\u{200f}שלום"})), (201, None)),
            ("tab and line break in title", user("tab@x.com", json!({"title": "a\tb\r\nc"})), (201, None)),
            ("10 KB title", user("big@x.com", json!({"title": ten_kb})), (201, None)),
            ("empty title", user("empty@x.com", json!({"title": ""})), (201, None)),
            ("NFC userName", user("jos\u{e9}@x.com", json!({})), (201, None)),
            ("the same name in NFD", user("jose\u{301}@x.com", json!({})), (409, Some("uniqueness".into()))),
            ("the same name in NFD and capitals", user("JOSE\u{301}@X.COM", json!({})), (409, Some("uniqueness".into()))),
        ];
        for (what, body, expected) in cases {
            let got = answer(app.post("/Users", body).await).await;
            assert_eq!(got, expected, "{what}");
        }
        // Escapes in the JSON text itself: a surrogate pair is one character, a lone surrogate
        // is not JSON.
        for (what, raw, expected) in [
            ("escaped surrogate pair", r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\ud83d\ude00pair@x.com"}"#, (201, None)),
            ("lone surrogate", r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\ud800lone@x.com"}"#, (400, Some("invalidSyntax".to_owned()))),
        ] {
            let res = app.client.post(app.url("/Users")).bearer_auth(&app.token)
                .header("content-type", "application/scim+json").body(raw).send().await.unwrap();
            assert_eq!(answer(res).await, expected, "{what}");
        }
        let group = json!({"schemas": [GROUP], "displayName": long});
        assert_eq!(answer(app.post("/Groups", group).await).await, (400, invalid.clone()), "3,000-character group name");
        let license = json!({"schemas": ["urn:scimd:schemas:core:2.0:License"], "partNumber": long, "seats": 1});
        assert_eq!(answer(app.post("/Licenses", license).await).await, (400, invalid.clone()), "3,000-character part number");

        // Reads with the same characters: a clear 400 or a 404, never a database error.
        let res = app.get("/Users?filter=userName%20eq%20%22a%00b%22").await;
        assert_eq!(answer(res).await, (400, Some("invalidFilter".into())), "NUL in a filter value");
        let res = app.get("/Users?filter=title%20co%20%22%1b%22").await;
        assert_eq!(answer(res).await, (400, Some("invalidFilter".into())), "escape in a filter value");
        for path in ["/Users/a%00b", "/Groups/a%00b", "/Licenses/a%00b"] {
            assert_eq!(app.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let res = app.send(Method::DELETE, "/Users/a%00b", None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "DELETE of a NUL id");
        let res = app.send(Method::POST, "/Admin/DeletedUsers/a%00b/restore", None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "restore of a NUL id");
        let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                          "Operations": [{"method": "DELETE", "path": "/Users/a\u{0}b"}]});
        let res: Value = app.post("/Bulk", bulk).await.json().await.unwrap();
        assert_eq!(res["Operations"][0]["status"], "404", "a Bulk DELETE of a NUL id: {res}");

        // Exactly the accepted ones were written.
        let list: Value = app.get("/Users?count=0").await.json().await.unwrap();
        assert_eq!(list["totalResults"], 7, "the 201s above, and nothing refused");
    }

    async fn odd_references_are_refused_a_license_or_the_group_itself_as_member_a_reused_bulk_id_a_foreign_cursor(app: TestApp) {
        let user = app.create_user("member@x.com").await;
        let license: Value = app
            .post("/Licenses", json!({"schemas": ["urn:scimd:schemas:core:2.0:License"], "partNumber": "E3", "seats": 1}))
            .await
            .json()
            .await
            .unwrap();
        let license_id = license["id"].as_str().unwrap();
        let res = app.post("/Groups", json!({"schemas": [GROUP], "displayName": "L", "members": [{"value": license_id}]})).await;
        assert_eq!(answer(res).await, (400, Some("invalidValue".into())), "a License as a member");
        let group = app.create_group("Self", &[crate::helpers::id(&user)]).await;
        let gid = crate::helpers::id(&group);
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "add", "path": "members", "value": [{"value": gid}]}]});
        let err = crate::helpers::scim_error(app.patch(&format!("/Groups/{gid}"), patch).await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("member of itself"), "{err}");
        let g: Value = app.get(&format!("/Groups/{gid}")).await.json().await.unwrap();
        assert_eq!(g["members"].as_array().unwrap().len(), 1, "nothing changed");

        let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "b1@x.com"}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": "b2@x.com"}}]});
        let err = crate::helpers::scim_error(app.post("/Bulk", bulk).await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("bulkId \"u\" is declared by more than one"), "{err}");
        let none: Value = app.get("/Users?filter=userName%20sw%20%22b%22&count=0").await.json().await.unwrap();
        assert_eq!(none["totalResults"], 0, "a refused Bulk writes nothing");

        app.create_user("second@x.com").await;
        let page: Value = app.get("/Users?count=1&cursor=").await.json().await.unwrap();
        let next = page["nextCursor"].as_str().expect("a next cursor").to_owned();
        let other = app.token_for("contoso", &[scimd::store::Scope::Read]).await;
        let res = app.send_as(&other, Method::GET, &format!("/Users?count=1&cursor={next}"), None).await;
        assert_eq!(answer(res).await, (400, Some("invalidCursor".into())), "another tenant's cursor");
    }

    async fn sorting_by_a_multi_valued_attribute_uses_the_primary_value_else_the_first_on_every_store(app: TestApp) {
        for (name, emails, title) in [
            ("s1@x.com", json!([{"value": "c@x.com"}, {"value": "a@x.com", "primary": true}]), "b"),
            ("s2@x.com", json!([{"value": "b@x.com"}, {"value": "0@x.com"}]), "A"),
            ("s3@x.com", json!(null), "c"),
        ] {
            let res = app.post("/Users", user(name, json!({"emails": emails, "title": title}))).await;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        let order = |query: &'static str| {
            let app = &app;
            async move {
                let res = app.get(&format!("/Users?{query}")).await;
                assert_eq!(res.status(), StatusCode::OK, "{query}");
                let list: Value = res.json().await.unwrap();
                list["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        assert_eq!(order("sortBy=emails").await, ["s1@x.com", "s2@x.com", "s3@x.com"], "primary a@, first b@, none last");
        assert_eq!(order("sortBy=emails.value&sortOrder=descending").await, ["s3@x.com", "s2@x.com", "s1@x.com"]);
        assert_eq!(order("sortBy=title").await, ["s2@x.com", "s1@x.com", "s3@x.com"], "case-insensitive: A, b, c");
        for query in ["sortBy=groups", "sortBy=phoneNumbers.type", "sortBy=addresses.country"] {
            assert_eq!(order(query).await.len(), 3, "{query} sorts, with missing values last");
        }
    }
}
