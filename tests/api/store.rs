//! The `Store` trait itself, on both databases: what every implementation promises to the
//! service (versions, uniqueness, membership rows, seats, soft delete, tokens, tenants,
//! domains, settings, admin-center sessions), checked without HTTP in between.

use serde_json::{json, Value};
use time::OffsetDateTime;

use scimd::scim::filter::parse_checked;
use scimd::scim::schema::ResourceKind::{self, Group, License, User};
use scimd::store::{
    Fingerprint, ListQuery, Load, MemberChange, MemberRef, NewResource, NewToken, Scope, Store, StoreError, Stored,
    TenantId, TokenState, Update,
};

use crate::helpers::{behaviour, TestApp};

const DIRECTORY: &str = "urn:scimd:schemas:extension:directory:2.0:User";

fn new(id: &str, kind: ResourceKind, doc: Value) -> NewResource {
    NewResource {
        id: id.into(),
        kind,
        doc,
        password_hash: None,
        members: vec![],
        name_guard: None,
        audit: crate::helpers::test_audit(),
    }
}

fn audit() -> scimd::store::AuditEntry {
    scimd::store::AuditEntry::new(&crate::helpers::test_actor(), scimd::store::Operation::Patch, json!({}))
}

fn user(id: &str, name: &str) -> NewResource {
    new(id, User, json!({"userName": name}))
}

fn update(doc: Value, expected_version: i64) -> Update {
    Update {
        doc,
        previous: None,
        password_hash: None,
        members: vec![],
        expected_version,
        name_guard: None,
        audit: crate::helpers::test_audit(),
    }
}

fn query(filter: Option<&str>, start_index: u64, count: u64) -> ListQuery {
    ListQuery {
        filter: filter.map(|f| parse_checked(User, f).unwrap()),
        sort: None,
        start_index,
        after_seq: None,
        count,
        member_budget: None,
    }
}

async fn tenant(store: &dyn Store, name: &str) -> TenantId {
    store.ensure_tenant(name).await.unwrap()
}

fn token(name: &str, scopes: Vec<Scope>) -> NewToken {
    NewToken { name: name.into(), secret_hash: scimd::auth::hash_secret(name), scopes, expires: None, rate_limit: None }
}

/// Makes the database refuse every audit line of a resource whose id starts with `refused`, as
/// a full disk or a broken constraint would refuse a write's last statements.
async fn refuse_audit_lines(app: &TestApp) {
    if app.postgres_schema().is_some() {
        app.execute_sql(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.resource_id LIKE 'refused%' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END $$",
        )
        .await;
        app.execute_sql(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        )
        .await;
    } else {
        app.execute_sql(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events WHEN NEW.resource_id LIKE 'refused%' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        )
        .await;
    }
}

fn emails(name: &str, email: &str) -> Value {
    json!({"userName": name, "emails": [{"value": email, "type": "work"}]})
}

async fn matching(store: &dyn Store, t: TenantId, filter: &str) -> Vec<String> {
    let page = store.list(t, User, &query(Some(filter), 1, 10), Load::default()).await.unwrap();
    page.items.iter().map(|s| s.id.as_str().to_owned()).collect()
}

behaviour! {
    async fn writes_carry_versions_and_a_stale_write_is_refused(app: TestApp) {
        let store = app.store.as_ref();
        let (t, other) = (tenant(store, "a").await, tenant(store, "b").await);
        let created = store.insert(t, user("u1", "ann"), Load::default()).await.unwrap();
        assert_eq!((created.version, created.doc["userName"].clone()), (1, json!("ann")));

        let updated = store.update(t, User, &"u1".into(), update(json!({"userName": "ann", "title": "Boss"}), 1), Load::default()).await.unwrap();
        assert_eq!(updated.version, 2);
        assert!(updated.last_modified >= created.last_modified);
        let stale = store.update(t, User, &"u1".into(), update(json!({"userName": "ann"}), 1), Load::default()).await;
        assert!(matches!(stale, Err(StoreError::VersionMismatch { current: 2 })), "{stale:?}");
        assert_eq!(store.fetch(t, User, &"u1".into(), Load::default()).await.unwrap().doc["title"], "Boss");

        // Another tenant, or another kind, does not see it.
        assert!(matches!(store.fetch(other, User, &"u1".into(), Load::default()).await, Err(StoreError::NotFound)));
        assert!(matches!(store.fetch(t, Group, &"u1".into(), Load::default()).await, Err(StoreError::NotFound)));
    }

    async fn user_names_are_unique_in_a_tenant_after_case_folding(app: TestApp) {
        let store = app.store.as_ref();
        let (t, other) = (tenant(store, "a").await, tenant(store, "b").await);
        store.insert(t, user("u1", "Straße"), Load::default()).await.unwrap();
        let taken = store.insert(t, user("u2", "STRASSE"), Load::default()).await;
        assert!(matches!(taken, Err(StoreError::Conflict { attribute: "userName", .. })), "{taken:?}");
        store.insert(other, user("u3", "STRASSE"), Load::default()).await.unwrap();
        assert_eq!(store.user_names_taken(t, &["strasse".into(), "nobody".into()]).await.unwrap(), ["Straße"]);
        let found = store.users_by_name(t, &["STRASSE".into()]).await.unwrap();
        let ids: Vec<(String, scimd::store::ResourceId)> =
            found.into_iter().map(|u| (u.doc["userName"].as_str().unwrap().to_owned(), u.id)).collect();
        assert_eq!(ids, [("Straße".to_owned(), "u1".into())]);
    }

    async fn fingerprints_are_kept_per_user_for_one_source_and_go_with_the_user(app: TestApp) {
        let store = app.store.as_ref();
        let (a, b) = (tenant(store, "a").await, tenant(store, "b").await);
        let ann = store.insert(a, user("u1", "ann"), Load::default()).await.unwrap();
        let bob = store.insert(a, user("u2", "bob"), Load::default()).await.unwrap();
        let other = store.insert(b, user("u3", "cem"), Load::default()).await.unwrap();
        let print = |s: &Stored, hash: &str| Fingerprint { seq: s.seq, row_hash: hash.into(), version: s.version };
        // A seq no user has (purged meanwhile) is left out, not an error.
        let gone = Fingerprint { seq: other.seq + 1000, row_hash: "x".into(), version: 1 };
        store.record_fingerprints("hr", &[print(&ann, "h1"), print(&bob, "h2"), print(&other, "h3"), gone]).await.unwrap();

        let mut got = store.fingerprints(a, "hr", &[ann.seq, bob.seq, other.seq]).await.unwrap();
        got.sort_by_key(|p| p.seq);
        assert_eq!(got, [print(&ann, "h1"), print(&bob, "h2")], "tenant b's user is not tenant a's");
        assert!(store.fingerprints(a, "payroll", &[ann.seq]).await.unwrap().is_empty());

        // Another source's run replaces a user's fingerprint; a purged user's goes with it.
        store.record_fingerprints("payroll", &[print(&ann, "p1")]).await.unwrap();
        assert!(store.fingerprints(a, "hr", &[ann.seq]).await.unwrap().is_empty());
        assert_eq!(store.fingerprints(a, "payroll", &[ann.seq]).await.unwrap(), [print(&ann, "p1")]);
        store.delete(a, User, &"u2".into(), None, &crate::helpers::test_audit()).await.unwrap();
        store.purge(a, &"u2".into(), &crate::helpers::test_audit()).await.unwrap();
        assert!(store.fingerprints(a, "hr", &[bob.seq]).await.unwrap().is_empty());
    }

    async fn a_batch_keeps_the_good_rows_and_reports_each_bad_one_in_its_place(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        let batch = vec![user("u1", "ann"), user("u2", "ANN"), user("u3", "bob")];
        let results = store.insert_many(t, &batch, Load::default()).await.unwrap();
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(StoreError::Conflict { .. })), "{results:?}");
        assert_eq!(store.list(t, User, &query(None, 1, 10), Load::default()).await.unwrap().total, 2);
    }

    async fn membership_changes_touch_only_their_rows_and_big_groups_read_in_chunks(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        for i in 0..7 {
            store.insert(t, user(&format!("u{i}"), &format!("user{i}")), Load::default()).await.unwrap();
        }
        let mut group = new("g", Group, json!({"displayName": "G"}));
        group.members = vec![MemberRef::id("u0".into()), MemberRef::id("u1".into())];
        store.insert(t, group, Load::default()).await.unwrap();

        let add = MemberChange::Add((2..7).map(|i| MemberRef::id(format!("u{i}").into())).collect());
        let g = store.update_members(t, &"g".into(), &[add, MemberChange::Remove(vec!["u0".into()])], Load { members: true, ..Load::default() }, &audit()).await.unwrap();
        assert_eq!(g.members.unwrap().len(), 6);
        assert_eq!(store.member_count(t, &"g".into()).await.unwrap(), 6);

        let (mut after, mut seen) = (0, Vec::new());
        loop {
            let chunk = store.members_after(t, &"g".into(), after, 4).await.unwrap();
            seen.extend(chunk.iter().map(|(_, m)| m.id.clone()));
            match chunk.last() {
                Some((seq, _)) if chunk.len() == 4 => after = *seq,
                _ => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["u1", "u2", "u3", "u4", "u5", "u6"]);

        let user_view = store.fetch(t, User, &"u3".into(), Load { groups: true, ..Load::default() }).await.unwrap();
        assert_eq!(user_view.groups.unwrap().iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["g"]);

        let unknown = store.update_members(t, &"g".into(), &[MemberChange::Add(vec![MemberRef::id("nobody".into())])], Load::default(), &audit()).await;
        assert!(matches!(unknown, Err(StoreError::UnknownMembers(ref ids)) if ids == &["nobody"]), "{unknown:?}");
        let itself = store.update_members(t, &"g".into(), &[MemberChange::Add(vec![MemberRef::id("g".into())])], Load::default(), &audit()).await;
        assert!(matches!(itself, Err(StoreError::SelfMember(_))), "{itself:?}");
        assert_eq!(store.member_count(t, &"g".into()).await.unwrap(), 6, "a refused change changed nothing");
    }

    async fn a_soft_deleted_user_frees_its_name_and_comes_back_only_while_it_is_free(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        store.insert(t, user("u1", "ann"), Load::default()).await.unwrap();
        store.delete(t, User, &"u1".into(), Some(1), &crate::helpers::test_audit()).await.unwrap();
        assert!(matches!(store.fetch(t, User, &"u1".into(), Load::default()).await, Err(StoreError::NotFound)));
        let (total, deleted) = store.list_deleted(t, 1, 10).await.unwrap();
        assert_eq!((total, deleted[0].0.id.as_str()), (1, "u1"));

        store.insert(t, user("u2", "ANN"), Load::default()).await.unwrap();
        assert!(matches!(store.restore(t, &"u1".into(), &crate::helpers::test_audit()).await, Err(StoreError::Conflict { .. })));
        store.delete(t, User, &"u2".into(), None, &crate::helpers::test_audit()).await.unwrap();
        assert_eq!(store.restore(t, &"u1".into(), &crate::helpers::test_audit()).await.unwrap().id, "u1");
        assert!(matches!(store.restore(t, &"u1".into(), &crate::helpers::test_audit()).await, Err(StoreError::NotFound)), "restored once only");

        // Purging removes deletions older than the given time, in every tenant.
        assert_eq!(store.purge_deleted_before(OffsetDateTime::now_utc() - time::Duration::hours(1), &crate::helpers::test_actor()).await.unwrap(), 0);
        assert_eq!(store.purge_deleted_before(OffsetDateTime::now_utc() + time::Duration::seconds(1), &crate::helpers::test_actor()).await.unwrap(), 1);
        let purges = scimd::store::AuditQuery { operation: Some(scimd::store::Operation::Purge), start_index: 1, count: 10, ..Default::default() };
        let (n, purged) = store.audit_events(t, &purges).await.unwrap();
        assert_eq!((n, purged[0].resource_id.as_str(), purged[0].actor.name.as_str()), (1, "u2", "test"), "u1 came back; u2, deleted after it, is purged");
        let purges = scimd::store::AuditQuery { operation: Some(scimd::store::Operation::Purge), start_index: 1, count: 10, ..Default::default() };
        let (n, purged) = store.audit_events(t, &purges).await.unwrap();
        assert_eq!((n, purged[0].resource_id.as_str(), purged[0].actor.name.as_str()), (1, "u2", "test"), "u1 came back; u2, deleted after it, is purged");
        assert_eq!(store.list_deleted(t, 1, 10).await.unwrap().0, 0);
    }

    async fn seats_are_taken_released_and_never_oversold(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        store.insert(t, new("l1", License, json!({"partNumber": "E3", "seats": 1})), Load::default()).await.unwrap();
        let holder = |id: &str, name: &str| {
            new(id, User, json!({"userName": name, DIRECTORY: {"usageLocation": "NL", "licenses": [{"value": "l1"}]}}))
        };
        store.insert(t, holder("u1", "ann"), Load::default()).await.unwrap();
        let license = store.fetch(t, License, &"l1".into(), Load::default()).await.unwrap();
        assert_eq!((license.doc["consumed"].clone(), license.doc["available"].clone()), (json!(1), json!(0)));

        let second = store.insert(t, holder("u2", "bob"), Load::default()).await;
        assert!(matches!(second, Err(StoreError::NoSeats { seats: 1, .. })), "{second:?}");
        let shrink = store.update(t, License, &"l1".into(), update(json!({"partNumber": "E3", "seats": 0}), license.version), Load::default()).await;
        assert!(matches!(shrink, Err(StoreError::SeatsInUse { consumed: 1, .. })), "{shrink:?}");
        assert!(matches!(store.delete(t, License, &"l1".into(), None, &crate::helpers::test_audit()).await, Err(StoreError::LicenseInUse { .. })));
        let unknown = store.insert(t, new("u3", User, json!({"userName": "cy", DIRECTORY: {"licenses": [{"value": "nope"}]}})), Load::default()).await;
        assert!(matches!(unknown, Err(StoreError::UnknownLicenses(_))), "{unknown:?}");

        store.delete(t, User, &"u1".into(), None, &crate::helpers::test_audit()).await.unwrap();
        assert_eq!(store.fetch(t, License, &"l1".into(), Load::default()).await.unwrap().doc["consumed"], 0);
        store.insert(t, holder("u2", "bob"), Load::default()).await.unwrap();
        // The seat went to bob: ann cannot come back with it.
        assert!(matches!(store.restore(t, &"u1".into(), &crate::helpers::test_audit()).await, Err(StoreError::NoSeats { .. })));
    }

    async fn tokens_are_found_by_hash_and_a_tenant_keeps_one_active_admin_token(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        let first = store.create_token(t, token("first", vec![Scope::Admin]), &crate::helpers::test_actor()).await.unwrap();
        let found = store.find_token(&scimd::auth::hash_secret("first")).await.unwrap().unwrap();
        assert_eq!((found.id, found.tenant, found.scopes.clone()), (first.id, t, vec![Scope::Admin]));
        assert!(store.find_token("no such hash").await.unwrap().is_none());

        assert!(matches!(store.revoke_tenant_token(t, first.id, &crate::helpers::test_actor()).await, Err(StoreError::LastAdminToken(_))));
        let second = store.create_token(t, token("second", vec![Scope::Admin, Scope::Read]), &crate::helpers::test_actor()).await.unwrap();
        store.revoke_tenant_token(t, first.id, &crate::helpers::test_actor()).await.unwrap();
        let revoked = store.find_token(&scimd::auth::hash_secret("first")).await.unwrap().unwrap();
        assert_eq!(revoked.state(OffsetDateTime::now_utc()), TokenState::Revoked);
        // Another tenant's token does not exist for this one; the operator may revoke any.
        let other = tenant(store, "b").await;
        assert!(matches!(store.revoke_tenant_token(other, second.id, &crate::helpers::test_actor()).await, Err(StoreError::NotFound)));
        store.revoke_token(second.id, &crate::helpers::test_actor()).await.unwrap();
        assert!(matches!(store.revoke_token(scimd::store::TokenId(i64::MAX), &crate::helpers::test_actor()).await, Err(StoreError::NotFound)));
        let listed: Vec<scimd::store::TokenId> = store.list_tokens(Some(t)).await.unwrap().iter().map(|t| t.id).collect();
        assert_eq!(listed, [first.id, second.id]);
    }

    async fn tenants_count_their_users_and_groups_and_go_with_everything_when_forced(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "acme").await;
        assert_eq!(store.ensure_tenant("acme").await.unwrap(), t, "ensure finds the existing tenant");
        store.insert(t, user("u1", "ann"), Load::default()).await.unwrap();
        store.insert(t, new("g1", Group, json!({"displayName": "G"})), Load::default()).await.unwrap();
        let info = store.list_tenants().await.unwrap().into_iter().find(|i| i.id == t).unwrap();
        assert_eq!((info.name.as_str(), info.users, info.groups), ("acme", 1, 1));
        assert!(matches!(store.remove_tenant(t, false).await, Err(StoreError::TenantNotEmpty { users: 1, groups: 1 })));
        store.remove_tenant(t, true).await.unwrap();
        assert_eq!(store.find_tenant("acme").await.unwrap(), None);
        assert!(matches!(store.fetch(t, User, &"u1".into(), Load::default()).await, Err(StoreError::NotFound)));
    }

    async fn domains_are_kept_in_lower_case_with_at_most_one_initial(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        store.add_domain(t, "Contoso.COM", false, &crate::helpers::test_actor()).await.unwrap();
        store.add_domain(t, "contoso.onmicrosoft.com", true, &crate::helpers::test_actor()).await.unwrap();
        store.add_domain(t, "fabrikam.onmicrosoft.com", true, &crate::helpers::test_actor()).await.unwrap();
        let mut domains = store.domains(t).await.unwrap();
        domains.sort();
        assert_eq!(
            domains,
            [("contoso.com".into(), false), ("contoso.onmicrosoft.com".into(), false), ("fabrikam.onmicrosoft.com".into(), true)]
        );
        store.remove_domain(t, "CONTOSO.com", &crate::helpers::test_actor()).await.unwrap();
        assert!(matches!(store.remove_domain(t, "contoso.com", &crate::helpers::test_actor()).await, Err(StoreError::NotFound)));
    }

    async fn idle_connections_give_back_their_caches_and_keep_working(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        for i in 0..50 {
            store.insert(t, user(&format!("u{i}"), &format!("user{i}")), Load::default()).await.unwrap();
        }
        store.list(t, User, &query(Some("userName sw \"user1\""), 1, 100), Load::default()).await.unwrap();
        store.release_memory().await.unwrap();
        store.release_memory().await.unwrap();
        assert_eq!(store.list(t, User, &query(None, 1, 0), Load::default()).await.unwrap().total, 50);
        assert_eq!(store.fetch(t, User, &"u7".into(), Load::default()).await.unwrap().doc["userName"], "user7");
    }

    async fn license_seats_list_every_tenants_licenses_in_order_up_to_the_limit(app: TestApp) {
        let store = app.store.as_ref();
        let (a, b) = (tenant(store, "a").await, tenant(store, "b").await);
        store.insert(b, new("lb", License, json!({"partNumber": "E3", "seats": 1})), Load::default()).await.unwrap();
        store.insert(a, new("l5", License, json!({"partNumber": "E5", "seats": 5})), Load::default()).await.unwrap();
        store.insert(a, new("l3", License, json!({"partNumber": "E3", "seats": 2})), Load::default()).await.unwrap();
        let holder = new("u1", User, json!({"userName": "ann", DIRECTORY: {"usageLocation": "NL", "licenses": [{"value": "l3"}]}}));
        store.insert(a, holder, Load::default()).await.unwrap();

        let all = store.license_seats(10).await.unwrap();
        let first_two = store.license_seats(2).await.unwrap();

        let seats = |t: &str, p: &str, seats, consumed| scimd::store::LicenseSeats {
            tenant: t.into(),
            part_number: p.into(),
            seats,
            consumed,
        };
        assert_eq!(all, [seats("a", "E3", 2, 1), seats("a", "E5", 5, 0), seats("b", "E3", 1, 0)]);
        assert_eq!(first_two, all[..2]);
    }

    async fn pool_stats_count_open_and_idle_connections_within_the_configured_most(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        store.insert(t, user("u1", "user1"), Load::default()).await.unwrap();

        let stats = store.pool_stats();

        // The test helpers open SQLite with 8 connections and PostgreSQL with 4.
        let configured = if app.postgres_schema().is_some() { 4 } else { 8 };
        assert_eq!(stats.max, configured);
        assert!(stats.size >= 1 && stats.size <= stats.max, "{stats:?}");
        assert!(stats.idle <= stats.size, "{stats:?}");
    }

    async fn an_audit_line_no_write_carries_is_recorded_in_its_tenant_alone(app: TestApp) {
        let store = app.store.as_ref();
        let (t, other) = (tenant(store, "mailing").await, tenant(store, "other").await);
        let entry = scimd::store::AuditEntry::new(
            &crate::helpers::test_actor(),
            scimd::store::Operation::Mail,
            json!({"to": ["it@example.com"], "outcome": "sent"}),
        );

        store.record_audit(t, "Mail", "m-1", &entry).await.unwrap();

        let query = scimd::store::AuditQuery { resource_type: Some("Mail".into()), start_index: 1, count: 10, ..Default::default() };
        let (n, events) = store.audit_events(t, &query).await.unwrap();
        assert_eq!((n, events[0].resource_id.as_str(), events[0].operation), (1, "m-1", scimd::store::Operation::Mail));
        assert_eq!(events[0].changes, json!({"to": ["it@example.com"], "outcome": "sent"}));
        assert_eq!(store.audit_events(other, &query).await.unwrap().0, 0);
    }

    async fn audit_events_read_newest_first_page_from_the_latest_line(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "ordered").await;
        let entry = scimd::store::AuditEntry::new(&crate::helpers::test_actor(), scimd::store::Operation::Mail, json!({}));
        for id in ["m-1", "m-2", "m-3"] {
            store.record_audit(t, "Mail", id, &entry).await.unwrap();
        }

        let newest = scimd::store::AuditQuery { newest_first: true, start_index: 1, count: 2, ..Default::default() };
        let (n, first) = store.audit_events(t, &newest).await.unwrap();
        let (_, second) = store.audit_events(t, &scimd::store::AuditQuery { start_index: 3, ..newest }).await.unwrap();

        let ids = |events: &[scimd::store::AuditEvent]| events.iter().map(|e| e.resource_id.clone()).collect::<Vec<_>>();
        assert_eq!((n, ids(&first), ids(&second)), (3, vec!["m-3".to_owned(), "m-2".to_owned()], vec!["m-1".to_owned()]));
    }

    async fn a_lock_is_handed_over_only_by_the_holder_it_names(app: TestApp) {
        let store = app.store.as_ref();
        assert!(store.try_lock("sync", "killed", 1_000, 9_000).await.unwrap());

        let wrong = store.take_over_lock("sync", "someone else", "b", 10_000).await.unwrap();
        let taken = store.take_over_lock("sync", "killed", "b", 10_000).await.unwrap();
        let again = store.take_over_lock("sync", "killed", "c", 11_000).await.unwrap();

        assert!(!wrong && taken && !again, "only the run that saw the killed holder gets it");
        assert_eq!(store.lock_holder("sync").await.unwrap(), Some(("b".to_owned(), 10_000)));
        assert!(!store.try_lock("sync", "c", 9_500, 12_000).await.unwrap(), "b holds it until 10,000");
        store.unlock("sync", "b").await.unwrap();
        assert_eq!(store.lock_holder("sync").await.unwrap(), None);
        assert!(!store.take_over_lock("sync", "b", "c", 12_000).await.unwrap(), "a freed lock is taken, not handed over");
    }

    async fn import_sources_are_added_replaced_listed_and_removed_per_tenant(app: TestApp) {
        let store = app.store.as_ref();
        let (a, b) = (tenant(store, "a").await, tenant(store, "b").await);
        let actor = crate::helpers::test_actor();
        let source = |name: &str, map: &str, valve: &str| scimd::store::ImportSource {
            name: name.into(),
            column_map: map.into(),
            max_deactivate: valve.into(),
            created: OffsetDateTime::UNIX_EPOCH,
            updated: OffsetDateTime::UNIX_EPOCH,
        };

        assert!(!store.put_import_source(a, &source("workday", "{\"v\": 1}", "10%"), &actor).await.unwrap());
        assert!(!store.put_import_source(a, &source("adp", "{}", "5"), &actor).await.unwrap());
        assert!(!store.put_import_source(b, &source("workday", "{\"b\": 1}", "1"), &actor).await.unwrap());
        let first = store.import_source(a, "workday").await.unwrap();
        assert!(store.put_import_source(a, &source("workday", "{\"v\": 2}", "25%"), &actor).await.unwrap(), "replaced");

        let listed = store.import_sources(a).await.unwrap();
        let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["adp", "workday"]);
        let workday = store.import_source(a, "workday").await.unwrap();
        assert_eq!((workday.column_map.as_str(), workday.max_deactivate.as_str()), ("{\"v\": 2}", "25%"));
        assert_eq!(workday.created, first.created, "a replaced source keeps when it was added");
        assert!(workday.updated >= first.updated && first.created > OffsetDateTime::UNIX_EPOCH);
        assert_eq!(store.import_source(b, "workday").await.unwrap().column_map, "{\"b\": 1}", "tenants apart");
        assert!(matches!(store.import_source(a, "WORKDAY").await, Err(StoreError::NotFound)), "names as written");
        store.remove_import_source(a, "workday", &actor).await.unwrap();
        assert!(matches!(store.remove_import_source(a, "workday", &actor).await, Err(StoreError::NotFound)));
        assert_eq!(store.import_sources(a).await.unwrap().len(), 1);
        assert_eq!(store.import_sources(b).await.unwrap().len(), 1);
        store.remove_tenant(b, true).await.unwrap();
        assert!(matches!(store.import_source(b, "workday").await, Err(StoreError::NotFound)), "gone with the tenant");
    }

    async fn a_setting_keeps_the_first_value_written(app: TestApp) {
        let store = app.store.as_ref();
        assert_eq!(store.setting("test-key", "first").await.unwrap(), "first");
        assert_eq!(store.setting("test-key", "second").await.unwrap(), "first");
    }

    async fn sessions_are_found_with_their_token_renewed_ended_purged_and_bounded_per_token(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        let admin = store.create_token(t, token("admin", vec![Scope::Admin]), &crate::helpers::test_actor()).await.unwrap();
        let session = |id: &str, expires_at| scimd::store::NewSession { id_hash: id.into(), token: admin.id, csrf: format!("csrf-{id}"), expires_at };
        store.open_session(&session("s1", 2_000), 1_000, 3).await.unwrap();

        let found = store.session("s1", 1_500).await.unwrap().unwrap();
        assert_eq!((found.token.id, found.token.tenant, found.csrf.as_str(), found.expires_at), (admin.id, t, "csrf-s1", 2_000));
        assert_eq!(found.flash, None);
        store.set_session_flash("s1", Some("Saved.")).await.unwrap();
        assert_eq!(store.session("s1", 1_500).await.unwrap().unwrap().flash.as_deref(), Some("Saved."));
        store.set_session_flash("s1", None).await.unwrap();
        assert_eq!(store.session("s1", 1_500).await.unwrap().unwrap().flash, None);
        store.touch_session("s1", 5_000).await.unwrap();
        assert_eq!(store.session("s1", 4_000).await.unwrap().unwrap().expires_at, 5_000, "renewed");
        assert!(store.session("s1", 5_000).await.unwrap().is_none(), "expired");
        assert!(store.session("s1", i64::MIN).await.unwrap().is_none(), "and removed when read");

        for (i, expires_at) in [10_000, 14_000, 11_000, 13_000, 12_000].into_iter().enumerate() {
            store.open_session(&session(&format!("b{i}"), expires_at), 1_000, 3).await.unwrap();
        }
        let mut kept = Vec::new();
        for i in 0..5 {
            kept.push(store.session(&format!("b{i}"), 1_000).await.unwrap().is_some());
        }
        assert_eq!(kept, [false, true, false, true, true], "the token keeps the three that expire last");

        store.close_session("b1").await.unwrap();
        assert!(store.session("b1", 1_000).await.unwrap().is_none(), "ended");
        assert_eq!(store.purge_sessions(12_500).await.unwrap(), 1, "b4 expired at 12,000");
        assert!(store.session("b3", 12_500).await.unwrap().is_some(), "b3 lasts to 13,000");
        store.revoke_token(admin.id, &crate::helpers::test_actor()).await.unwrap();
        let revoked = store.session("b3", 12_500).await.unwrap().unwrap();
        assert_eq!(revoked.token.state(OffsetDateTime::now_utc()), TokenState::Revoked, "the service sees the token as it is");
    }

    async fn a_lock_has_one_holder_until_it_is_freed_or_expires(app: TestApp) {
        let store = app.store.as_ref();

        assert!(store.try_lock("sync", "a", 1_000, 2_000).await.unwrap());
        assert!(!store.try_lock("sync", "b", 1_500, 2_500).await.unwrap(), "held by a");
        assert!(store.try_lock("sync", "a", 1_500, 3_000).await.unwrap(), "a extends its own");
        assert!(!store.try_lock("sync", "b", 2_500, 3_500).await.unwrap(), "extended past 2,500");
        assert!(store.try_lock("sync", "b", 3_001, 4_000).await.unwrap(), "a's lock expired");
        store.unlock("sync", "a").await.unwrap();
        assert!(!store.try_lock("sync", "c", 3_500, 5_000).await.unwrap(), "a no longer frees b's lock");
        store.unlock("sync", "b").await.unwrap();
        assert!(store.try_lock("sync", "c", 3_500, 5_000).await.unwrap(), "freed");
    }

    async fn an_update_from_its_previous_document_rewrites_exactly_what_changed(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        store.insert(t, new("l1", License, json!({"partNumber": "E3", "seats": 5})), Load::default()).await.unwrap();
        let first = json!({"userName": "ann", "externalId": "x1", "emails": [{"value": "ann@a.example"}]});
        let created = store.insert(t, new("u1", User, first.clone()), Load::default()).await.unwrap();
        let from = |previous: &Value, doc: Value, version| Update { previous: Some(previous.clone()), ..update(doc, version) };
        let names = |filter: &'static str| async move {
            let page = store.list(t, User, &query(Some(filter), 1, 10), Load::default()).await.unwrap();
            page.items.iter().map(|s| s.doc["userName"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        };

        // Only the title changes: the name, the externalId and the email stay found.
        let title = json!({"userName": "ann", "externalId": "x1", "title": "Boss", "emails": [{"value": "ann@a.example"}]});
        let v2 = store.update(t, User, &"u1".into(), from(&first, title.clone(), created.version), Load::default()).await.unwrap();
        assert_eq!(names("userName eq \"ANN\"").await, ["ann"]);
        assert_eq!(names("externalId eq \"x1\"").await, ["ann"]);
        assert_eq!(names("emails.value ew \"@a.example\"").await, ["ann"]);
        assert_eq!(names("title eq \"boss\"").await, ["ann"]);

        // Name, externalId, email and licenses change: old values are found no more.
        let moved = json!({"userName": "anna", "externalId": "x2", "title": "Boss",
                           "emails": [{"value": "anna@b.example"}], DIRECTORY: {"usageLocation": "NL", "licenses": [{"value": "l1"}]}});
        let v3 = store.update(t, User, &"u1".into(), from(&title, moved.clone(), v2.version), Load::default()).await.unwrap();
        assert!(names("userName eq \"ann\"").await.is_empty());
        assert_eq!(names("userName eq \"anna\"").await, ["anna"]);
        assert!(names("externalId eq \"x1\"").await.is_empty());
        assert_eq!(names("externalId eq \"x2\"").await, ["anna"]);
        assert!(names("emails.value ew \"@a.example\"").await.is_empty());
        assert_eq!(names("emails.value ew \"@b.example\"").await, ["anna"]);
        assert_eq!(store.fetch(t, License, &"l1".into(), Load::default()).await.unwrap().doc["consumed"], 1);
        store.insert(t, user("u2", "ann"), Load::default()).await.expect("the old name is free");

        // The license goes: its seat comes back.
        let dropped = json!({"userName": "anna", "externalId": "x2", "emails": [{"value": "anna@b.example"}]});
        store.update(t, User, &"u1".into(), from(&moved, dropped, v3.version), Load::default()).await.unwrap();
        assert_eq!(store.fetch(t, License, &"l1".into(), Load::default()).await.unwrap().doc["consumed"], 0);
        assert!(names("title pr").await.is_empty());
    }

    async fn lists_filter_count_and_page_in_creation_order(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        for (i, name) in ["ann", "bob", "anna", "cy", "andy"].iter().enumerate() {
            store.insert(t, user(&format!("u{i}"), name), Load::default()).await.unwrap();
        }
        let page = store.list(t, User, &query(Some("userName sw \"AN\""), 1, 2), Load::default()).await.unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["u0", "u2"]);
        let next = ListQuery { after_seq: Some(page.items[1].seq), ..query(Some("userName sw \"an\""), 1, 2) };
        let rest = store.list(t, User, &next, Load::default()).await.unwrap();
        assert_eq!(rest.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["u4"]);
        let counted = store.list(t, User, &query(None, 1, 0), Load::default()).await.unwrap();
        assert_eq!((counted.total, counted.items.len()), (5, 0));
    }

    async fn a_document_read_as_text_is_the_stored_one_and_a_licenses_is_parsed_for_its_seats(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        let doc = json!({"userName": "ann", "name": {"givenName": "Ann"}, "emails": [{"value": "a@x", "primary": true}]});
        store.insert(t, new("u1", User, doc.clone()), Load::default()).await.unwrap();
        store.insert(t, new("l1", License, json!({"partNumber": "E3", "seats": 2})), Load::default()).await.unwrap();
        let text = Load { doc_text: true, ..Load::default() };

        let ann = store.fetch(t, User, &"u1".into(), text).await.unwrap();
        assert_eq!(ann.doc, Value::Null);
        let written: Value = serde_json::from_str(ann.doc_text.as_deref().expect("the text")).unwrap();
        assert_eq!(written, doc);
        let license = store.fetch(t, License, &"l1".into(), text).await.unwrap();
        assert_eq!((license.doc_text, license.doc["available"].clone()), (None, json!(2)));
    }

    // A write's audit line and filter index rows go in last in a SQLite batch, with its
    // savepoint's release; on PostgreSQL where they are written.
    async fn a_write_whose_last_statements_fail_leaves_nothing_of_itself(app: TestApp) {
        let store = app.store.as_ref();
        let t = tenant(store, "a").await;
        store.insert(t, new("refused-old", User, emails("rita", "old@example.com")), Load::default()).await.unwrap();
        store.insert(t, new("kept", User, emails("kim", "kim@example.com")), Load::default()).await.unwrap();
        refuse_audit_lines(&app).await;

        let created = store.insert(t, new("refused-new", User, emails("rob", "rob@example.com")), Load::default()).await;
        assert!(created.is_err(), "{created:?}");
        assert!(matches!(
            store.fetch(t, User, &"refused-new".into(), Load::default()).await,
            Err(StoreError::NotFound)
        ));
        assert!(matching(store, t, "emails.value eq \"rob@example.com\"").await.is_empty());

        let changed = store.update(t, User, &"refused-old".into(), update(emails("rita", "new@example.com"), 1), Load::default()).await;
        assert!(changed.is_err(), "{changed:?}");
        let kept = store.fetch(t, User, &"refused-old".into(), Load::default()).await.unwrap();
        assert_eq!((kept.version, kept.doc["emails"][0]["value"].clone()), (1, json!("old@example.com")));
        assert_eq!(matching(store, t, "emails.value eq \"old@example.com\"").await, ["refused-old"]);
        assert!(matching(store, t, "emails.value eq \"new@example.com\"").await.is_empty());

        // Writes of other resources go on, their last statements all in: the index rows'
        // delete and insert and the audit line of one update.
        let updated = store.update(t, User, &"kept".into(), update(emails("kim", "kim@new.example"), 1), Load::default()).await.unwrap();
        assert_eq!(updated.version, 2);
        assert_eq!(matching(store, t, "emails.value eq \"kim@new.example\"").await, ["kept"]);
        assert!(matching(store, t, "emails.value eq \"kim@example.com\"").await.is_empty());
        let history = store.audit_after(t, 0, 100).await.unwrap();
        let lines: Vec<&str> = history.iter().map(|e| e.resource_id.as_str()).collect();
        assert_eq!(lines, ["refused-old", "kept", "kept"]);
    }
}
