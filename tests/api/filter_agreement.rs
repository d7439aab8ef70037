//! The database and the in-memory evaluator must agree: random filters over random users,
//! answered by the store's SQL and by `filter::matches`, return the same users.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

use scimd::scim::filter::{self, CompValue, CompareOp, Filter, SchemaInfo};
use scimd::scim::path::AttrPath;
use scimd::scim::schema::{Registry, ResourceKind};
use scimd::store::{ListQuery, Load, NewResource, Store};

use crate::helpers::TestApp;

fn opt<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = Option<T>> {
    prop_oneof![Just(None), proptest::sample::select(items).prop_map(Some)]
}

/// Text whose case-insensitive meaning needs more than lower-casing: full folding (ß → ss,
/// ﬃ → ffi), final sigma, dotted and dotless i, the Kelvin sign, and decomposed (NFD) forms.
const NAMES: &[&str] = &[
    "ann",
    "Bob",
    "ÜMA",
    "carl",
    "Zoë",
    "STRASSE",
    "straße",
    "ΣΊΣΥΦΟΣ",
    "İstanbul",
    "ıi",
    "\u{212A}elvin",
    "oﬃce",
    "e\u{301}cole",
    "école",
];
const TITLES: &[&str] =
    &["Boss", "boss", "Über", "eng", "", "Straße", "STRASSE", "ẞ", "σοφός", "ΣΟΦΌΣ", "ﬃ", "FFI", "Kelvin", "\u{212A}"];
const VALUES: &[&str] = &[
    "a",
    "ANN",
    "boss",
    "über",
    "x.com",
    "work",
    "",
    "b@y.org",
    "zoë",
    "m",
    "ss",
    "SS",
    "ß",
    "ẞ",
    "ς",
    "Σ",
    "σ",
    "İ",
    "i\u{307}",
    "ı",
    "k",
    "\u{212A}",
    "ffi",
    "ﬃ",
    "e\u{301}",
    "é",
    "strasse@x.de",
    "ΣΟΦΌΣ",
    "ssa",
    "ELVIN",
];

fn user() -> impl Strategy<Value = Value> {
    let email = (
        proptest::sample::select(&["a@x.com", "B@Y.org", "ü@z.de", "Ann@X.com", "STRASSE@x.de", "straße@x.de"][..]),
        opt(&["work", "home", "Work"][..]),
        any::<bool>(),
    );
    (
        proptest::sample::select(NAMES),
        opt(TITLES),
        opt(&[true, false][..]),
        opt(&["Ann B", "x", "ANN", "José", "Jose\u{301}", "ΟΔΥΣΣΕΎΣ"][..]),
        opt(&["Ann", "ann", "Zoë", "Işıl", "IŞIL", "İsmail"][..]),
        proptest::collection::vec(email, 0..3),
    )
        .prop_map(|(name, title, active, display, given, emails)| {
            let mut u = Map::new();
            u.insert("userName".into(), json!(name));
            if let Some(t) = title {
                u.insert("title".into(), json!(t));
            }
            if let Some(a) = active {
                u.insert("active".into(), json!(a));
            }
            if let Some(d) = display {
                u.insert("displayName".into(), json!(d));
            }
            if let Some(g) = given {
                u.insert("name".into(), json!({"givenName": g}));
            }
            if !emails.is_empty() {
                let items: Vec<Value> = emails
                    .iter()
                    .enumerate()
                    .map(|(i, (v, t, p))| {
                        let mut e = json!({"value": v});
                        if let Some(t) = t {
                            e["type"] = json!(t);
                        }
                        if *p && i == 0 {
                            e["primary"] = json!(true);
                        }
                        e
                    })
                    .collect();
                u.insert("emails".into(), Value::Array(items));
            }
            Value::Object(u)
        })
}

fn op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

fn text() -> impl Strategy<Value = CompValue> {
    proptest::sample::select(VALUES).prop_map(|s| CompValue::Str(s.to_owned()))
}

fn path(name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath { urn: None, name: name.to_owned(), sub: sub.map(str::to_owned) }
}

fn leaf() -> impl Strategy<Value = Filter> {
    let string_paths = proptest::sample::select(vec![
        ("userName", None),
        ("title", None),
        ("displayName", None),
        ("name", Some("givenName")),
        ("emails", Some("value")),
        ("emails", Some("type")),
        ("emails", None),
    ]);
    prop_oneof![
        (string_paths.clone(), op(), text()).prop_map(|((n, s), op, value)| Filter::Compare {
            path: path(n, s),
            op,
            value
        }),
        string_paths.prop_map(|(n, s)| Filter::Present(path(n, s))),
        (proptest::sample::select(vec![CompareOp::Eq, CompareOp::Ne]), any::<bool>())
            .prop_map(|(op, b)| Filter::Compare { path: path("active", None), op, value: CompValue::Bool(b) }),
        (proptest::sample::select(vec!["type", "value"]), op(), text(), any::<bool>()).prop_map(
            |(sub, op, value, primary)| {
                let inner = Filter::Compare { path: path(sub, None), op, value };
                let inner = if primary {
                    Filter::And(
                        Box::new(inner),
                        Box::new(Filter::Compare {
                            path: path("primary", None),
                            op: CompareOp::Eq,
                            value: CompValue::Bool(true),
                        }),
                    )
                } else {
                    inner
                };
                Filter::ValuePath { path: path("emails", None), filter: Box::new(inner) }
            }
        ),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
}

use std::sync::atomic::{AtomicUsize, Ordering};

async fn agree(
    store: Arc<dyn Store>,
    users: Vec<Value>,
    filters: Vec<Filter>,
    compared: &AtomicUsize,
) -> Result<(), TestCaseError> {
    let registry = Registry::builtin().unwrap();
    let rt = registry.resource_type(ResourceKind::User);
    let tenant = store.ensure_tenant(&format!("t{}", uuid::Uuid::new_v4().simple())).await.unwrap();
    let mut docs = Vec::new();
    for (i, mut u) in users.into_iter().enumerate() {
        // userName must be unique: keep the generated text, make it distinct.
        let name = format!("{}{i}", u["userName"].as_str().unwrap());
        u["userName"] = json!(name);
        let id = uuid::Uuid::new_v4().to_string();
        let new = NewResource {
            id: id.clone().into(),
            kind: ResourceKind::User,
            doc: u.clone(),
            password_hash: None,
            members: vec![],
            name_guard: None,
            audit: crate::helpers::test_audit(),
        };
        store.insert(tenant, new, Load::default()).await.unwrap();
        docs.push((id, u));
    }
    check_sorting(&store, tenant, &docs).await?;
    for f in filters {
        let Ok(checked) = filter::check(registry, rt, &f) else {
            continue;
        };
        let query = ListQuery {
            filter: Some(checked),
            sort: None,
            start_index: 1,
            count: 1000,
            after_seq: None,
            member_budget: None,
        };
        let page = store.list(tenant, ResourceKind::User, &query, Load::default()).await;
        let page = page.map_err(|e| TestCaseError::fail(format!("{f}: {e}")))?;
        // The matches past the first, two at a time: the same, in the same order.
        let mut paged = Vec::new();
        for start in (2..=page.items.len()).step_by(2) {
            let query = ListQuery { start_index: start as u64, count: 2, ..query.clone() };
            let part = store.list(tenant, ResourceKind::User, &query, Load::default()).await;
            let part = part.map_err(|e| TestCaseError::fail(format!("{f} from {start}: {e}")))?;
            prop_assert_eq!(part.total as usize, page.items.len(), "filter: {} from {}", f, start);
            paged.extend(part.items.into_iter().map(|s| s.id.into_string()));
        }
        let rest: Vec<String> = page.items.iter().skip(1).map(|s| s.id.as_str().to_owned()).collect();
        prop_assert_eq!(paged, rest, "pages of filter: {}", f);
        let from_sql: BTreeSet<String> = page.items.into_iter().map(|s| s.id.into_string()).collect();
        let info = SchemaInfo { registry, rt };
        let in_memory: BTreeSet<String> =
            docs.iter().filter(|(_, d)| filter::matches(&f, d, &info)).map(|(id, _)| id.clone()).collect();
        let names = |ids: &BTreeSet<String>| -> Vec<String> {
            docs.iter().filter(|(id, _)| ids.contains(id)).map(|(_, d)| d.to_string()).collect()
        };
        prop_assert_eq!(names(&from_sql), names(&in_memory), "filter: {}", f);
        compared.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// The key a user sorts by (RFC 7644 §3.4.2.3): the folded value; for `emails` the primary
/// one, else the first.
fn sort_key(doc: &Value, path: &str) -> Option<String> {
    let v = match path {
        "emails" => {
            let items = doc.get("emails")?.as_array()?;
            let primary = items.iter().find(|e| e.get("primary") == Some(&json!(true)));
            primary.or(items.first())?.get("value")
        }
        "name.givenName" => doc.get("name")?.get("givenName"),
        other => doc.get(other),
    };
    v?.as_str().map(filter::case_fold)
}

/// Every store orders case-insensitive strings by the code points of their folded form,
/// missing values last when ascending (first when descending).
async fn check_sorting(
    store: &Arc<dyn Store>,
    tenant: scimd::store::TenantId,
    docs: &[(String, Value)],
) -> Result<(), TestCaseError> {
    for path in ["userName", "title", "displayName", "name.givenName", "emails"] {
        for ascending in [true, false] {
            let query = ListQuery {
                filter: None,
                sort: Some((filter::parse_attr_path(path).unwrap(), ascending)),
                start_index: 1,
                count: 1000,
                after_seq: None,
                member_budget: None,
            };
            let page = store.list(tenant, ResourceKind::User, &query, Load::default()).await;
            let page = page.map_err(|e| TestCaseError::fail(format!("sortBy={path}: {e}")))?;
            let key = |id: &str| docs.iter().find(|(i, _)| i == id).and_then(|(_, d)| sort_key(d, path));
            let got: Vec<Option<String>> = page.items.iter().map(|s| key(s.id.as_str())).collect();
            let mut want = got.clone();
            want.sort_by(|a, b| {
                let ord = match (a, b) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, _) => std::cmp::Ordering::Greater,
                    (_, None) => std::cmp::Ordering::Less,
                    (Some(a), Some(b)) => a.cmp(b),
                };
                if ascending {
                    ord
                } else {
                    ord.reverse()
                }
            });
            prop_assert_eq!(got, want, "sortBy={} ascending={}", path, ascending);
            // Pages of three past the first (chosen by sequence number, then read) walk the
            // same order.
            let whole: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
            let mut paged = Vec::new();
            for start in (1..=whole.len()).step_by(3) {
                let query = ListQuery { start_index: start as u64, count: 3, ..query.clone() };
                let part = store.list(tenant, ResourceKind::User, &query, Load::default()).await;
                let part = part.map_err(|e| TestCaseError::fail(format!("sortBy={path} from {start}: {e}")))?;
                paged.extend(part.items.into_iter().map(|s| s.id.as_str().to_owned()));
            }
            prop_assert_eq!(paged, whole, "pages of sortBy={} ascending={}", path, ascending);
        }
    }
    Ok(())
}

fn run(store: Arc<dyn Store>) {
    let mut runner = TestRunner::new(Config { cases: 48, ..Config::default() });
    let compared = AtomicUsize::new(0);
    let handle = tokio::runtime::Handle::current();
    let strategy = (proptest::collection::vec(user(), 1..7), proptest::collection::vec(filter(), 1..6));
    let result = runner.run(&strategy, |(users, filters)| {
        let store = store.clone();
        tokio::task::block_in_place(|| handle.block_on(agree(store, users, filters, &compared)))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generators must produce filters the schema accepts, or this test checks nothing.
    assert!(compared.load(Ordering::Relaxed) > 48, "too few filters were compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_and_in_memory_filters_agree_on_sqlite() {
    run(TestApp::sqlite().await.store.clone());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SCIMD_TEST_POSTGRES_URL"]
async fn sql_and_in_memory_filters_agree_on_postgres() {
    run(TestApp::postgres().await.store.clone());
}
