//! `totalResults` of an unfiltered list comes from counters the database keeps per tenant and
//! resource type: it stays exact across every write that adds or removes a resource.

use reqwest::StatusCode;
use serde_json::{json, Value};

use scimd::scim::schema::ResourceKind;
use scimd::store::{ListQuery, Load, NewResource, TenantId};

use crate::helpers::{behaviour, id, TestApp, GROUP, USER};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// `totalResults` of `path` with a page of one (which must count) and of none.
async fn totals(app: &TestApp, path: &str) -> (u64, u64) {
    let mut out = [0; 2];
    for (slot, count) in out.iter_mut().zip([1, 0]) {
        let res = app.get(&format!("{path}?count={count}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let list: Value = res.json().await.unwrap();
        *slot = list["totalResults"].as_u64().unwrap();
    }
    (out[0], out[1])
}

/// Live users, live groups and soft-deleted users of the default tenant, each checked to be
/// the same with a page of one and with none.
async fn counts(app: &TestApp) -> (u64, u64, u64) {
    let mut out = Vec::new();
    for path in ["/Users", "/Groups", "/Admin/DeletedUsers"] {
        let (paged, bare) = totals(app, path).await;
        assert_eq!(paged, bare, "{path}: count=1 and count=0 disagree");
        out.push(paged);
    }
    (out[0], out[1], out[2])
}

fn user(id: &str, name: &str) -> NewResource {
    NewResource {
        id: id.into(),
        kind: ResourceKind::User,
        doc: json!({"userName": name}),
        password_hash: None,
        members: vec![],
        name_guard: None,
        audit: crate::helpers::test_audit(),
    }
}

async fn store_total(app: &TestApp, tenant: TenantId) -> u64 {
    let query = ListQuery { filter: None, sort: None, start_index: 1, count: 1, after_seq: None, member_budget: None };
    app.store.list(tenant, ResourceKind::User, &query, Load::default()).await.unwrap().total
}

behaviour! {
    async fn total_results_stay_exact_across_create_delete_restore_purge_and_bulk(app: TestApp) {
        let a = app.create_user("a@x.com").await;
        let b = app.create_user("b@x.com").await;
        app.create_user("c@x.com").await;
        let g = app.create_group("G", &[id(&a)]).await;
        app.create_group("H", &[]).await;
        assert_eq!(counts(&app).await, (3, 2, 0));

        // A create refused for its name changes nothing.
        let res = app.post("/Users", json!({"schemas": [USER], "userName": "A@X.COM"})).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(counts(&app).await, (3, 2, 0));

        assert_eq!(app.delete(&format!("/Users/{}", id(&a))).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&format!("/Groups/{}", id(&g))).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(counts(&app).await, (2, 1, 1));

        let res = app.post(&format!("/Admin/DeletedUsers/{}/restore", id(&a)), json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(counts(&app).await, (3, 1, 0));

        app.delete(&format!("/Users/{}", id(&b))).await;
        assert_eq!(counts(&app).await, (2, 1, 1));
        let res = app.delete(&format!("/Admin/DeletedUsers/{}", id(&b))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(counts(&app).await, (2, 1, 0));

        // A bulk whose one failing create is undone alone, and a delete in the same request.
        let res = app
            .post("/Bulk", json!({"schemas": [BULK], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"schemas": [USER], "userName": "d@x.com"}},
                {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"schemas": [USER], "userName": "c@x.com"}},
                {"method": "POST", "path": "/Groups", "bulkId": "k", "data": {"schemas": [GROUP], "displayName": "K"}},
                {"method": "POST", "path": "/Users", "bulkId": "e", "data": {"schemas": [USER], "userName": "e@x.com"}},
                {"method": "DELETE", "path": format!("/Users/{}", id(&a))}
            ]}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let statuses: Vec<&str> = body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["201", "409", "201", "201", "204"]);
        assert_eq!(counts(&app).await, (3, 2, 1));

        // Straight to the store, a thousand at a time.
        app.seed_users("seeded", 1500).await;
        assert_eq!(counts(&app).await, (1503, 2, 1));
        // A batch counts its inserts itself on PostgreSQL; the writes after it are counted
        // one by one again, on whichever connection.
        let creates = (0..4).map(|i| {
            let app = &app;
            async move { app.create_user(&format!("after{i}@x.com")).await }
        });
        let after: Vec<Value> = futures::future::join_all(creates).await;
        assert_eq!(app.delete(&format!("/Users/{}", id(&after[0]))).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(counts(&app).await, (1506, 2, 2));
    }

    async fn many_concurrent_creates_in_one_tenant_are_all_counted(app: TestApp) {
        let creates = (0..24).map(|i| {
            let app = &app;
            async move {
                let res = app.post("/Users", json!({"schemas": [USER], "userName": format!("u{i}@x.com")})).await;
                assert_eq!(res.status(), StatusCode::CREATED);
                let user: Value = res.json().await.unwrap();
                if i % 3 == 0 {
                    assert_eq!(app.delete(&format!("/Users/{}", id(&user))).await.status(), StatusCode::NO_CONTENT);
                }
            }
        });
        futures::future::join_all(creates).await;
        assert_eq!(counts(&app).await, (16, 0, 8));
    }

    async fn a_removed_tenant_leaves_no_count_behind(app: TestApp) {
        let tenant = app.store.ensure_tenant("short-lived").await.unwrap();
        let load = Load::default();
        for i in 0..3 {
            app.store.insert(tenant, user(&format!("s{i}"), &format!("s{i}@x.com")), load).await.unwrap();
        }
        app.store.delete(tenant, ResourceKind::User, &"s0".into(), None, &crate::helpers::test_audit()).await.unwrap();
        assert_eq!(store_total(&app, tenant).await, 2);
        assert_eq!(app.store.list_deleted(tenant, 1, 10).await.unwrap().0, 1);

        app.store.remove_tenant(tenant, true).await.unwrap();
        // A tenant made afterwards, which may get the same id, starts from nothing.
        let again = app.store.ensure_tenant("short-lived").await.unwrap();
        assert_eq!(store_total(&app, again).await, 0);
        assert_eq!(app.store.list_deleted(again, 1, 10).await.unwrap().0, 0);
        app.store.insert(again, user("s9", "s9@x.com"), load).await.unwrap();
        assert_eq!(store_total(&app, again).await, 1);
        // The default tenant's list never saw any of it.
        assert_eq!(counts(&app).await, (0, 0, 0));
    }
}

/// Rows as a scimd from before the counters and the reversed values wrote them: a tenant with
/// two live users, a soft-deleted one and a group, and the users' email index rows. `DOC` is
/// the document column as the dialect takes text (PostgreSQL's is jsonb).
const OLD_ROWS: &str = r#"
INSERT INTO tenants (name, created) VALUES ('old', '2024-01-01T00:00:00.000000Z');
INSERT INTO resources (id, tenant_id, kind, user_name, user_name_fold, display_name, display_name_fold, doc,
                       version, created, last_modified, deleted_at)
SELECT v.id, t.id, v.kind, v.user_name, v.user_name_fold, v.display_name, v.display_name_fold, DOC,
       1, '2024-01-01T00:00:00.000000Z', '2024-01-01T00:00:00.000000Z', v.deleted_at
FROM tenants t, (
    SELECT 'o1' AS id, 'User' AS kind, 'Ann_1@Example.com' AS user_name, 'ann_1@example.com' AS user_name_fold,
           NULL AS display_name, NULL AS display_name_fold,
           '{"userName": "Ann_1@Example.com", "emails": [{"value": "Ann.Work@EXAMPLE.com"}]}' AS doc, NULL AS deleted_at
    UNION ALL SELECT 'o2', 'User', 'bob@example.com', 'bob@example.com', NULL, NULL,
           '{"userName": "bob@example.com", "emails": [{"value": "bob@home.org"}]}', NULL
    UNION ALL SELECT 'o3', 'User', 'gone@example.com', 'gone@example.com', NULL, NULL,
           '{"userName": "gone@example.com"}', '2024-01-02T00:00:00.000000Z'
    UNION ALL SELECT 'o4', 'Group', NULL, NULL, 'Team', 'team', '{"displayName": "Team"}', NULL
) v
WHERE t.name = 'old';
INSERT INTO resource_values (resource_seq, attr, value_fold)
SELECT seq, 'emails.value', CASE id WHEN 'o1' THEN 'ann.work@example.com' ELSE 'bob@home.org' END
FROM resources WHERE id IN ('o1', 'o2');
"#;

/// The migrations of `dialect` up to the last one before the counters, in a directory of
/// their own, for building a database as an older scimd left it.
fn migrations_before_counters(dialect: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0017" {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    dir
}

/// An upgraded store counts and searches the rows written before the upgrade, and keeps
/// counting from there.
async fn upgraded_store_counts_and_finds_old_rows(store: &dyn scimd::store::Store) {
    let tenant = store.find_tenant("old").await.unwrap().unwrap();
    let query = |filter: Option<&str>| ListQuery {
        filter: filter.map(|f| scimd::scim::filter::parse_checked(ResourceKind::User, f).unwrap()),
        sort: None,
        start_index: 1,
        count: 1,
        after_seq: None,
        member_budget: None,
    };
    let total = |kind, filter: Option<&'static str>| {
        let q = query(filter);
        async move { store.list(tenant, kind, &q, Load::default()).await.unwrap().total }
    };
    assert_eq!(total(ResourceKind::User, None).await, 2);
    assert_eq!(total(ResourceKind::Group, None).await, 1);
    assert_eq!(store.list_deleted(tenant, 1, 10).await.unwrap().0, 1);
    assert_eq!(total(ResourceKind::User, Some("userName ew \"EXAMPLE.COM\"")).await, 2);
    assert_eq!(total(ResourceKind::User, Some("userName ew \"_1@example.com\"")).await, 1);
    assert_eq!(total(ResourceKind::User, Some("emails.value ew \"@Example.com\"")).await, 1);
    assert_eq!(total(ResourceKind::User, Some("emails ew \"HOME.ORG\"")).await, 1);

    store.insert(tenant, user("n1", "new@example.com"), Load::default()).await.unwrap();
    store.delete(tenant, ResourceKind::User, &"o1".into(), None, &crate::helpers::test_audit()).await.unwrap();
    assert_eq!(total(ResourceKind::User, None).await, 2);
    assert_eq!(store.list_deleted(tenant, 1, 10).await.unwrap().0, 2);
    assert_eq!(total(ResourceKind::User, Some("userName ew \"@example.com\"")).await, 2);
}

#[tokio::test]
async fn a_sqlite_database_from_before_the_counters_is_counted_and_searched_by_suffix() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let old = migrations_before_counters("sqlite");
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(old.path()).await.unwrap().run(&mut conn).await.unwrap();
    sqlx::raw_sql(&OLD_ROWS.replace("DOC", "v.doc")).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();

    let store = scimd::store::sqlite::SqliteStore::connect(&url, 2, scimd::store::DEFAULT_QUERY_TIMEOUT).await.unwrap();
    upgraded_store_counts_and_finds_old_rows(&store).await;
}

#[tokio::test]
#[ignore = "needs SCIMD_TEST_POSTGRES_URL"]
async fn a_postgres_database_from_before_the_counters_is_counted_and_searched_by_suffix() {
    use sqlx::Connection;
    let url = std::env::var("SCIMD_TEST_POSTGRES_URL").expect(crate::helpers::NEEDS_POSTGRES);
    let schema = format!("scimd_test_{}", uuid::Uuid::new_v4().simple());
    let _drop = crate::helpers::DropSchema { url: url.clone(), schema: schema.clone() };
    let old = migrations_before_counters("postgres");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!("CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\""))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old.path()).await.unwrap().run(&mut conn).await.unwrap();
    sqlx::raw_sql(&OLD_ROWS.replace("DOC", "CAST(v.doc AS jsonb)")).execute(&mut conn).await.unwrap();

    let store =
        scimd::store::postgres::PgStore::connect_in_schema(&url, 2, Some(&schema), scimd::store::DEFAULT_QUERY_TIMEOUT)
            .await
            .unwrap();
    upgraded_store_counts_and_finds_old_rows(&store).await;
}
