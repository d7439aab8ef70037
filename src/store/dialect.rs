//! What the SQL of SQLite and PostgreSQL spells differently (`Dialect`): transactions and
//! locks, placeholders, JSON functions, text order and comparison.

use crate::scim::filter::CompareOp;
use crate::store::sql::{Bind, Fragment, FIRST_ELEMENT};

/// What differs between the SQL of two databases.
pub trait Dialect {
    /// `BEGIN` for a write transaction.
    fn begin_write(&self) -> &'static str;
    /// A statement that makes the writers of one bound key take turns until their transactions
    /// end; `None` where writers take turns anyway.
    fn lock_key(&self) -> Option<&'static str>;
    /// The shared form of `lock_key`: holders of one key go together, and a `lock_key` of it
    /// waits for all of them (and keeps new ones out) until its transaction ends.
    fn shared_lock_key(&self) -> Option<&'static str>;
    /// The suffix locking the rows a SELECT reads until the transaction ends, where
    /// `begin_write` does not already keep other writers out.
    fn for_update(&self) -> &'static str;
    /// Where the counters' trigger (`resource_counts`) costs a batch more than counting it once:
    /// the statement that leaves the transaction's inserts to its writer, and the statement with
    /// which the writer then adds them (binding tenant, kind and how many). `None` where a count
    /// per insert costs next to nothing.
    fn inserts_counted_by_writer(&self) -> Option<(&'static str, &'static str)>;
    /// The statement that makes a connection give back the memory it caches, if any.
    fn release_memory(&self) -> Option<&'static str>;
    /// The statement writing a consistent copy of the whole database to the file bound to it,
    /// while others read and write; `None` where the database's own tools do that.
    fn backup_into(&self) -> Option<&'static str>;
    /// Turns the `?` placeholders every query is written with into the database's own.
    fn numbered<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str>;
    /// A bound JSON document as a value of the `doc` column, and the column of `table` read
    /// back as text.
    fn doc_param(&self) -> &'static str;
    fn doc_column(&self, table: &str) -> String;
    /// A FROM item yielding the strings of a bound JSON array as `alias.value`.
    fn text_list(&self, alias: &str) -> String;
    /// A FROM item yielding the objects of a bound JSON array as `alias.value`.
    fn json_list(&self, alias: &str) -> String;
    /// An aggregate building a JSON array (as text) of objects with these keys and SQL values.
    fn json_agg(&self, pairs: &[(&str, &str)]) -> String;
    /// The scalar at `keys` inside the JSON `base`, as text (strings) or its JSON value.
    fn json_scalar(&self, base: &str, keys: &[&str]) -> String;
    /// An element of a JSON array that is itself a scalar.
    fn json_element_scalar(&self, element: &str) -> String;
    /// A FROM item yielding the elements of the array at `keys` as `alias.value`.
    fn json_elements(&self, base: &str, keys: &[String], alias: &str) -> String;
    /// True when something non-empty is stored at `keys`.
    fn json_present(&self, base: &str, keys: &[&str]) -> String;
    /// `expr` as a boolean / number for comparisons with bound values.
    fn json_bool(&self, expr: &str) -> String;
    fn json_number(&self, expr: &str) -> String;
    /// The text `expr` ordered by code point (byte-wise UTF-8), whatever the database's locale.
    fn text_order(&self, expr: &str) -> String;
    /// Compares the text `expr` with `value` exactly: case-insensitive attributes compare
    /// their folded forms (`doc_fold`, the `_fold` columns) with a folded value.
    fn compare_text(&self, expr: &str, op: CompareOp, value: &str, out: &mut Fragment) -> String;
}

pub struct SqliteDialect;

/// A JSON path literal: `$."a"."b"`. Keys come from the schema registry, never from clients.
fn sqlite_path(keys: &[&str]) -> String {
    let mut p = String::from("'$");
    for k in keys {
        if *k == FIRST_ELEMENT {
            p.push_str("[0]");
        } else {
            p.push_str(&format!(".\"{k}\""));
        }
    }
    p.push('\'');
    p
}

impl Dialect for SqliteDialect {
    fn begin_write(&self) -> &'static str {
        // Take the write lock up front: a deferred transaction that later needs it can fail
        // with SQLITE_BUSY midway instead of waiting its turn.
        "BEGIN IMMEDIATE"
    }
    fn lock_key(&self) -> Option<&'static str> {
        // BEGIN IMMEDIATE already lets one writer in at a time.
        None
    }
    fn shared_lock_key(&self) -> Option<&'static str> {
        None
    }
    fn for_update(&self) -> &'static str {
        // BEGIN IMMEDIATE holds the database's one write lock.
        ""
    }
    fn inserts_counted_by_writer(&self) -> Option<(&'static str, &'static str)> {
        // One writer holds the counter row anyway; a count per insert costs about 2 µs.
        None
    }
    fn release_memory(&self) -> Option<&'static str> {
        // Frees the connection's page cache; it refills from the file on its next queries.
        Some("PRAGMA shrink_memory")
    }
    fn backup_into(&self) -> Option<&'static str> {
        // One read transaction: the copy is the database as of its start, writers go on (WAL).
        Some("VACUUM INTO ?")
    }
    fn numbered<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        std::borrow::Cow::Borrowed(sql)
    }
    fn doc_param(&self) -> &'static str {
        "?"
    }
    fn doc_column(&self, table: &str) -> String {
        format!("{table}.doc")
    }
    fn text_list(&self, alias: &str) -> String {
        format!("json_each(?) AS {alias}")
    }
    fn json_list(&self, alias: &str) -> String {
        format!("json_each(?) AS {alias}")
    }
    fn json_agg(&self, pairs: &[(&str, &str)]) -> String {
        let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        format!("json_group_array(json_object({}))", fields.join(", "))
    }
    fn json_scalar(&self, base: &str, keys: &[&str]) -> String {
        format!("json_extract({base}, {})", sqlite_path(keys))
    }
    fn json_element_scalar(&self, element: &str) -> String {
        element.to_owned()
    }
    fn json_elements(&self, base: &str, keys: &[String], alias: &str) -> String {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        format!("json_each({base}, {}) AS {alias}", sqlite_path(&keys))
    }
    fn json_present(&self, base: &str, keys: &[&str]) -> String {
        let path = sqlite_path(keys);
        format!("(json_type({base}, {path}) IN ('object', 'text', 'integer', 'real', 'true', 'false') OR json_array_length({base}, {path}) > 0)")
    }
    fn json_bool(&self, expr: &str) -> String {
        expr.to_owned()
    }
    fn json_number(&self, expr: &str) -> String {
        expr.to_owned()
    }
    fn text_order(&self, expr: &str) -> String {
        // SQLite's default BINARY collation compares UTF-8 bytes: code point order.
        expr.to_owned()
    }
    fn compare_text(&self, expr: &str, op: CompareOp, value: &str, out: &mut Fragment) -> String {
        let v = || Bind::Text(value.to_owned());
        match op {
            CompareOp::Co => format!("instr({expr}, {}) > 0", out.bind(v())),
            CompareOp::Sw => {
                let (a, b) = (out.bind(v()), out.bind(v()));
                format!("substr({expr}, 1, length({a})) = {b}")
            }
            CompareOp::Ew => {
                let n = out.bind(Bind::Int(value.chars().count() as i64));
                let b = out.bind(v());
                format!("substr({expr}, length({expr}) - {n} + 1) = {b}")
            }
            _ => ordered(expr, op, out.bind(v())),
        }
    }
}

/// `eq ne gt ge lt le` of `expr` against the placeholder `p`; a missing value is `ne` anything.
fn ordered(expr: &str, op: CompareOp, p: &str) -> String {
    let sym = match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => return format!("({expr} IS NULL OR {expr} <> {p})"),
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    };
    format!("{expr} {sym} {p}")
}

pub struct PostgresDialect;

/// A jsonb path literal: `'{"a","b"}'`. Keys come from the schema registry, never from clients.
fn pg_path(keys: &[&str]) -> String {
    let keys: Vec<String> =
        keys.iter().map(|k| if *k == FIRST_ELEMENT { "0".to_owned() } else { format!("\"{k}\"") }).collect();
    format!("'{{{}}}'", keys.join(","))
}

impl Dialect for PostgresDialect {
    fn begin_write(&self) -> &'static str {
        "BEGIN"
    }
    fn lock_key(&self) -> Option<&'static str> {
        Some("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))")
    }
    fn shared_lock_key(&self) -> Option<&'static str> {
        Some("SELECT pg_advisory_xact_lock_shared(hashtextextended(?, 0))")
    }
    fn for_update(&self) -> &'static str {
        " FOR UPDATE"
    }
    fn inserts_counted_by_writer(&self) -> Option<(&'static str, &'static str)> {
        // PostgreSQL keeps every version of a counter row a transaction updates until its
        // commit, and each update steps over the earlier ones: 1,000 inserts counted one by one
        // take twice as long as without, 5,000 six times (migration 0022). The setting ends
        // with the transaction.
        Some((
            "SELECT set_config('scimd.inserts_counted_by_writer', 'on', true)",
            "INSERT INTO resource_counts AS c (tenant_id, kind, shard, live, deleted) \
             VALUES (?, ?, pg_backend_pid() % 16, ?, 0) ON CONFLICT (tenant_id, kind, shard) \
             DO UPDATE SET live = c.live + excluded.live",
        ))
    }
    fn release_memory(&self) -> Option<&'static str> {
        // The server's memory is the server's: nothing is cached in this process.
        None
    }
    fn backup_into(&self) -> Option<&'static str> {
        // pg_dump makes consistent copies of a live PostgreSQL database.
        None
    }
    fn numbered<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        std::borrow::Cow::Owned(out)
    }
    fn doc_param(&self) -> &'static str {
        "CAST(? AS jsonb)"
    }
    fn doc_column(&self, table: &str) -> String {
        format!("{table}.doc::text AS doc")
    }
    fn text_list(&self, alias: &str) -> String {
        format!("jsonb_array_elements_text(CAST(? AS jsonb)) AS {alias}(value)")
    }
    fn json_list(&self, alias: &str) -> String {
        format!("jsonb_array_elements(CAST(? AS jsonb)) AS {alias}(value)")
    }
    fn json_agg(&self, pairs: &[(&str, &str)]) -> String {
        let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        format!("COALESCE(json_agg(json_build_object({})), '[]'::json)::text", fields.join(", "))
    }
    fn json_scalar(&self, base: &str, keys: &[&str]) -> String {
        format!("({base} #>> {})", pg_path(keys))
    }
    fn json_element_scalar(&self, element: &str) -> String {
        format!("({element} #>> '{{}}')")
    }
    fn json_elements(&self, base: &str, keys: &[String], alias: &str) -> String {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let at = format!("{base} #> {}", pg_path(&keys));
        format!("jsonb_array_elements(CASE WHEN jsonb_typeof({at}) = 'array' THEN {at} ELSE '[]'::jsonb END) AS {alias}(value)")
    }
    fn json_present(&self, base: &str, keys: &[&str]) -> String {
        let at = format!("{base} #> {}", pg_path(keys));
        format!("({at} IS NOT NULL AND {at} NOT IN ('null'::jsonb, '[]'::jsonb, '{{}}'::jsonb, '\"\"'::jsonb))")
    }
    fn json_bool(&self, expr: &str) -> String {
        format!("CAST({expr} AS boolean)")
    }
    fn json_number(&self, expr: &str) -> String {
        format!("CAST({expr} AS numeric)")
    }
    fn text_order(&self, expr: &str) -> String {
        // The database's default collation may follow a locale; "C" is code point order.
        format!("({expr}) COLLATE \"C\"")
    }
    fn compare_text(&self, expr: &str, op: CompareOp, value: &str, out: &mut Fragment) -> String {
        let mut p = || format!("CAST({} AS text)", out.bind(Bind::Text(value.to_owned())));
        match op {
            CompareOp::Co => format!("strpos({expr}, {}) > 0", p()),
            CompareOp::Sw => format!("starts_with({expr}, {})", p()),
            CompareOp::Ew => {
                let (a, b) = (p(), p());
                format!("right({expr}, length({a})) = {b}")
            }
            CompareOp::Eq | CompareOp::Ne => ordered(expr, op, &p()),
            _ => ordered(&self.text_order(expr), op, &p()),
        }
    }
}
