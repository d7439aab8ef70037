//! Filters run in the database: the RFC 7644 §3.4.2.2 examples, value paths, the forms
//! Entra ID sends, and Unicode case folding on attributes stored in the JSON document.

use serde_json::{json, Value};

use crate::helpers::{behaviour, id, scim_error, TestApp, USER};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn seed(app: &TestApp) {
    for body in [
        json!({"schemas": [USER], "userName": "bjensen", "title": "Tour Guide", "userType": "Employee",
               "name": {"familyName": "O'Malley", "givenName": "Barbara"}, "active": true,
               "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
               ENTERPRISE: {"department": "Tours", "manager": {"value": "m1"}}}),
        json!({"schemas": [USER], "userName": "jsmith", "userType": "Intern", "active": false,
               "name": {"familyName": "Smith"}, "emails": [{"value": "jsmith@example.org", "type": "work"}]}),
        json!({"schemas": [USER], "userName": "mmüller", "title": "Müller-Chef", "userType": "Employee",
               "emails": [{"value": "MM@EXAMPLE.COM", "type": "other"}]}),
    ] {
        let res = app.post("/Users", body).await;
        assert_eq!(res.status(), 201);
    }
}

async fn names(app: &TestApp, filter: &str) -> Vec<String> {
    let res = app
        .client
        .get(app.url("/Users"))
        .bearer_auth(&app.token)
        .query(&[("filter", filter), ("sortBy", "userName")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "filter {filter}");
    let list: Value = res.json().await.unwrap();
    list["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap().to_owned()).collect()
}

behaviour! {
    async fn a_timestamp_read_from_a_resource_finds_that_resource(app: TestApp) {
        let user = app.create_user("stamp@example.com").await;
        let modified = user["meta"]["lastModified"].as_str().unwrap().to_owned();
        let created = user["meta"]["created"].as_str().unwrap().to_owned();
        let count = |filter: String| {
            let app = &app;
            async move {
                let list: Value = app.get(&format!("/Users?filter={}", urlencode(&filter))).await.json().await.unwrap();
                list["totalResults"].as_u64().unwrap()
            }
        };

        assert_eq!(count(format!("meta.lastModified le \"{modified}\"")).await, 1, "{modified}");
        assert_eq!(count(format!("meta.lastModified eq \"{modified}\"")).await, 1);
        assert_eq!(count(format!("meta.lastModified lt \"{modified}\"")).await, 0);
        assert_eq!(count(format!("meta.created ge \"{created}\"")).await, 1);
        assert_eq!(count(format!("meta.created gt \"{created}\"")).await, 0);
    }

    async fn a_filter_over_the_cost_budget_is_refused_before_it_reaches_the_database(app: TestApp) {
        app.create_user("budget@example.com").await;
        // The shape that once held a connection for minutes: membership lookups with patterns.
        let terms = vec!["groups.display co \"zz\""; 100].join(" or ");
        let res = app.get(&format!("/Users?count=1&attributes=id&filter={}", urlencode(&terms))).await;
        let err = scim_error(res, 400).await;
        assert_eq!(err["scimType"], "invalidFilter");
        assert!(err["detail"].as_str().unwrap().contains("the limit is"), "{err}");
        let many = vec!["title pr"; 30].join(" or ");
        let err = scim_error(app.get(&format!("/Users?filter={}", urlencode(&many))).await, 400).await;
        assert!(err["detail"].as_str().unwrap().contains("--filter-max-terms"), "{err}");
        // Within the budget the same shapes still work.
        let fine: Value = app.get(&format!("/Users?filter={}", urlencode("title pr or userName sw \"budget\""))).await.json().await.unwrap();
        assert_eq!(fine["totalResults"], 1);
    }

    async fn rfc_7644_filter_examples_return_the_right_users(app: TestApp) {
        seed(&app).await;
        let cases: &[(&str, &[&str])] = &[
            ("userName Eq \"BJENSEN\"", &["bjensen"]),
            ("name.familyName co \"O'Malley\"", &["bjensen"]),
            ("userName sw \"J\"", &["jsmith"]),
            ("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"j\"", &["jsmith"]),
            ("title pr", &["bjensen", "mmüller"]),
            ("meta.lastModified gt \"2011-05-13T04:42:34Z\"", &["bjensen", "jsmith", "mmüller"]),
            ("meta.lastModified lt \"2011-05-13T04:42:34Z\"", &[]),
            ("title pr and userType eq \"Employee\"", &["bjensen", "mmüller"]),
            ("title pr or userType eq \"Intern\"", &["bjensen", "jsmith", "mmüller"]),
            (
                "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
                &["bjensen", "mmüller"],
            ),
            ("userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")", &[]),
            ("userType eq \"Employee\" and (emails.type eq \"work\")", &["bjensen"]),
            ("userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]", &["bjensen"]),
            ("emails[type eq \"work\" and value co \"@example.com\"] or emails[type eq \"home\"]", &["bjensen"]),
        ];
        for (filter, expected) in cases {
            assert_eq!(names(&app, filter).await, *expected, "{filter}");
        }
    }

    async fn json_attributes_compare_with_unicode_case_folding(app: TestApp) {
        seed(&app).await;
        assert_eq!(names(&app, "title eq \"MÜLLER-CHEF\"").await, ["mmüller"]);
        assert_eq!(names(&app, "title co \"üLLER\"").await, ["mmüller"]);
        assert_eq!(names(&app, "emails.value ew \"@example.com\"").await, ["bjensen", "mmüller"]);
        assert_eq!(names(&app, "userName eq \"MMÜLLER\"").await, ["mmüller"]);
    }

    async fn every_operator_and_sort_use_full_case_folding(app: TestApp) {
        for (name, title) in [("a", "Straße"), ("b", "STRASSE"), ("c", "Stras"), ("d", "ΣΟΦΌΣ"), ("e", "oﬃce")] {
            let res = app.post("/Users", json!({"schemas": [USER], "userName": name, "title": title})).await;
            assert_eq!(res.status(), 201);
        }
        // ß folds to ss, final ς and Σ to σ, ﬃ to ffi: the same for eq, co, sw, ew and gt.
        assert_eq!(names(&app, "title eq \"strasse\"").await, ["a", "b"]);
        assert_eq!(names(&app, "title co \"STRASSE\"").await, ["a", "b"]);
        assert_eq!(names(&app, "title sw \"strass\"").await, ["a", "b"]);
        assert_eq!(names(&app, "title ew \"ASSE\"").await, ["a", "b"]);
        assert_eq!(names(&app, "title co \"ß\"").await, ["a", "b"]);
        assert_eq!(names(&app, "title ew \"σοφός\"").await, ["d"]);
        assert_eq!(names(&app, "title co \"FFI\"").await, ["e"]);
        assert_eq!(names(&app, "title gt \"strass\"").await, ["a", "b", "d"]);
        // Sorting compares the folded text by code point: office, stras, strasse ×2, σοφοσ.
        let list: Value = app.get("/Users?sortBy=title").await.json().await.unwrap();
        let order: Vec<&str> = list["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
        assert_eq!(order, ["e", "c", "a", "b", "d"]);
    }

    async fn ew_on_user_name_and_emails_folds_case_and_takes_percent_and_underscore_literally(app: TestApp) {
        for (name, emails) in [
            ("ann_x%1@Example.COM", json!([{"value": "Ann.Work@EXAMPLE.com", "type": "work"}, {"value": "ann@home.org"}])),
            ("bob@example.com", json!([{"value": "bob_x@example.org", "type": "work"}])),
            // What an unescaped LIKE '%_x%1@example.com' would match as well.
            ("dave-yx-1@example.com", json!([{"value": "dave@exampleXcom", "type": "home"}])),
            ("MÜLLER@Straße.de", json!([{"value": "m@STRASSE.DE", "type": "work"}])),
        ] {
            let res = app.post("/Users", json!({"schemas": [USER], "userName": name, "emails": emails})).await;
            assert_eq!(res.status(), 201, "{name}");
        }
        assert_eq!(
            names(&app, "userName ew \"@EXAMPLE.com\"").await,
            ["ann_x%1@Example.COM", "bob@example.com", "dave-yx-1@example.com"]
        );
        assert_eq!(names(&app, "userName ew \"_X%1@example.com\"").await, ["ann_x%1@Example.COM"]);
        assert_eq!(names(&app, "userName ew \"%1@example.com\"").await, ["ann_x%1@Example.COM"]);
        assert_eq!(names(&app, "userName ew \"_\"").await, Vec::<String>::new());
        // ß folds to ss, Ü to ü: either spelling finds the other.
        assert_eq!(names(&app, "userName ew \"STRASSE.DE\"").await, ["MÜLLER@Straße.de"]);
        assert_eq!(names(&app, "userName ew \"üller@straße.de\"").await, ["MÜLLER@Straße.de"]);
        assert_eq!(names(&app, "userName ew \"\"").await.len(), 4);
        assert_eq!(names(&app, "not (userName ew \"@example.com\")").await, ["MÜLLER@Straße.de"]);

        assert_eq!(names(&app, "emails.value ew \"@example.COM\"").await, ["ann_x%1@Example.COM"]);
        assert_eq!(names(&app, "emails ew \"_X@EXAMPLE.ORG\"").await, ["bob@example.com"]);
        assert_eq!(names(&app, "emails.value ew \"example.com\"").await, ["ann_x%1@Example.COM"]);
        assert_eq!(names(&app, "emails.value ew \"aße.DE\"").await, ["MÜLLER@Straße.de"]);
        assert_eq!(
            names(&app, "emails[type eq \"work\" and value ew \"E.ORG\"]").await,
            ["bob@example.com"]
        );
        assert_eq!(names(&app, "emails[type eq \"work\" and value ew \"home.org\"]").await, Vec::<String>::new());
        let list: Value = app
            .client
            .get(app.url("/Users"))
            .bearer_auth(&app.token)
            .query(&[("filter", "userName ew \"example.com\" or emails ew \".de\""), ("count", "2")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["totalResults"], 4);
    }

    async fn documents_written_before_folding_existed_are_folded_when_scimd_opens(app: TestApp) {
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "old", "title": "Straße"})).await;
        assert_eq!(res.status(), 201);
        app.execute_sql("UPDATE resources SET doc_fold = NULL").await;
        let other = app.second_server().await;
        let res = app
            .client
            .get(format!("{other}/scim/v2/Users"))
            .bearer_auth(&app.token)
            .query(&[("filter", "title co \"STRASSE\"")])
            .send()
            .await
            .unwrap();
        let list: Value = res.json().await.unwrap();
        assert_eq!(list["totalResults"], 1, "{list}");
    }

    async fn booleans_extensions_and_entra_value_path_forms(app: TestApp) {
        seed(&app).await;
        assert_eq!(names(&app, "active eq false").await, ["jsmith"]);
        assert_eq!(names(&app, "not (active eq false)").await, ["bjensen", "mmüller"]);
        assert_eq!(names(&app, &format!("{ENTERPRISE}:department eq \"tours\"")).await, ["bjensen"]);
        assert_eq!(names(&app, &format!("{ENTERPRISE}:manager.value eq \"m1\"")).await, ["bjensen"]);
        assert_eq!(names(&app, "emails[type eq \"work\"].value eq \"jsmith@example.org\"").await, ["jsmith"]);
    }

    async fn group_membership_filters_read_the_member_table(app: TestApp) {
        let (a, b) = (app.create_user("a").await, app.create_user("b").await);
        let g1 = app.create_group("One", &[id(&a)]).await;
        app.create_group("Two", &[id(&b)]).await;
        let filter = format!("id eq \"{}\" and members[value eq \"{}\"]", id(&g1), id(&a));
        let res = app
            .client
            .get(app.url("/Groups"))
            .bearer_auth(&app.token)
            .query(&[("filter", filter.as_str())])
            .send()
            .await
            .unwrap();
        let list: Value = res.json().await.unwrap();
        assert_eq!(list["totalResults"], 1);
        let filter = format!("members.value eq \"{}\"", id(&b));
        let res = app
            .client
            .get(app.url("/Groups"))
            .bearer_auth(&app.token)
            .query(&[("filter", filter.as_str())])
            .send()
            .await
            .unwrap();
        let list: Value = res.json().await.unwrap();
        assert_eq!(list["Resources"][0]["displayName"], "Two");
        let filter = format!("groups.value eq \"{}\"", id(&g1));
        assert_eq!(names(&app, &filter).await, ["a"]);
    }

    async fn sort_by_any_attribute_orders_missing_values_last(app: TestApp) {
        seed(&app).await;
        let order = |q: &'static str| {
            let app = &app;
            async move {
                let list: Value = app.get(&format!("/Users?{q}")).await.json().await.unwrap();
                list["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        assert_eq!(order("sortBy=title").await, ["mmüller", "bjensen", "jsmith"]);
        assert_eq!(order("sortBy=name.familyName&sortOrder=descending").await, ["mmüller", "jsmith", "bjensen"]);
        // emails sorts by the primary value, else the first: bjensen@…, jsmith@…, MM@…
        assert_eq!(order("sortBy=emails").await, ["bjensen", "jsmith", "mmüller"]);
        // Ties (both "work") keep creation order.
        assert_eq!(order("sortBy=emails.type&sortOrder=descending").await, ["bjensen", "jsmith", "mmüller"]);
        let res = app.get("/Users?sortBy=name").await;
        assert_eq!(scim_error(res, 400).await["scimType"], "invalidValue");
    }

    async fn type_mismatches_in_filters_are_invalid_filter(app: TestApp) {
        for f in ["active gt true", "active eq \"yes\"", "name eq \"x\"", "emails[value eq \"x\"", "title eq"] {
            let res =
                app.client.get(app.url("/Users")).bearer_auth(&app.token).query(&[("filter", f)]).send().await.unwrap();
            let err = scim_error(res, 400).await;
            assert_eq!(err["scimType"], "invalidFilter", "{f}");
        }
    }
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
