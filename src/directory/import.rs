//! The Office 365 "bulk add users" CSV (DESIGN.md §4 "CSV import"): which columns a file may
//! have, how a row becomes a new SCIM User or a PATCH of an existing one, and the report.
//!
//! Pure: it reads and writes byte buffers, never files, and knows no runtime or database.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::directory::DIRECTORY_USER;
use crate::scim::error::{Result, ScimError};
use crate::scim::patch::PATCH_OP_URN;

/// The `schemas` value of the report the admin endpoint answers with.
pub const IMPORT_REPORT: &str = "urn:scimd:api:messages:2.0:ImportReport";
use crate::scim::schema::{CORE_USER, ENTERPRISE_USER};

/// A column of the bulk-add template. Every one but `User Name` may be left out of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    UserName,
    FirstName,
    LastName,
    DisplayName,
    JobTitle,
    Department,
    OfficeNumber,
    OfficePhone,
    MobilePhone,
    Fax,
    Address,
    City,
    StateOrProvince,
    PostalCode,
    CountryOrRegion,
    /// Only in the newer template.
    AlternateEmail,
}

impl Column {
    /// Every column, in the template's order.
    pub const ALL: [Column; 16] = [
        Column::UserName,
        Column::FirstName,
        Column::LastName,
        Column::DisplayName,
        Column::JobTitle,
        Column::Department,
        Column::OfficeNumber,
        Column::OfficePhone,
        Column::MobilePhone,
        Column::Fax,
        Column::Address,
        Column::City,
        Column::StateOrProvince,
        Column::PostalCode,
        Column::CountryOrRegion,
        Column::AlternateEmail,
    ];

    /// The header as the template spells it.
    pub fn header(self) -> &'static str {
        match self {
            Column::UserName => "User Name",
            Column::FirstName => "First Name",
            Column::LastName => "Last Name",
            Column::DisplayName => "Display Name",
            Column::JobTitle => "Job Title",
            Column::Department => "Department",
            Column::OfficeNumber => "Office Number",
            Column::OfficePhone => "Office Phone",
            Column::MobilePhone => "Mobile Phone",
            Column::Fax => "Fax",
            Column::Address => "Address",
            Column::City => "City",
            Column::StateOrProvince => "State or Province",
            Column::PostalCode => "ZIP or Postal Code",
            Column::CountryOrRegion => "Country or Region",
            Column::AlternateEmail => "Alternate email address",
        }
    }

    /// The column a header cell names: any case, surrounding spaces (and a stray BOM) ignored.
    pub fn recognise(cell: &str) -> Option<Column> {
        let name = cell.trim_start_matches('\u{feff}').trim();
        Column::ALL.into_iter().find(|c| c.header().eq_ignore_ascii_case(name))
    }

    /// The sub-attribute of the work address this column fills.
    fn address_part(self) -> Option<&'static str> {
        match self {
            Column::Address => Some("streetAddress"),
            Column::City => Some("locality"),
            Column::StateOrProvince => Some("region"),
            Column::PostalCode => Some("postalCode"),
            Column::CountryOrRegion => Some("country"),
            _ => None,
        }
    }

    /// The `type` of the phone number this column fills.
    fn phone_type(self) -> Option<&'static str> {
        match self {
            Column::OfficePhone => Some("work"),
            Column::MobilePhone => Some("mobile"),
            Column::Fax => Some("fax"),
            _ => None,
        }
    }
}

/// The accepted headers, for error messages.
fn accepted() -> String {
    Column::ALL.iter().map(|c| format!("\"{}\"", c.header())).collect::<Vec<_>>().join(", ")
}

/// One data row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line of the file the row starts on; the header is line 1. Without line breaks inside
    /// quoted cells, this is also the row number a spreadsheet shows.
    pub line: u64,
    /// The User Name cell, trimmed; empty when the row has none.
    pub user_name: String,
    /// Why the row cannot be imported, when it cannot.
    pub problem: Option<String>,
    /// The non-empty cells, trimmed.
    values: Vec<(Column, String)>,
}

impl Row {
    fn value(&self, column: Column) -> Option<&str> {
        self.values.iter().find(|(c, _)| *c == column).map(|(_, v)| v.as_str())
    }

    fn has(&self, columns: &[Column]) -> bool {
        columns.iter().any(|c| self.value(*c).is_some())
    }

    /// The SCIM User a POST would send for this row.
    pub fn new_user(&self) -> Value {
        let mut user = Map::new();
        let mut schemas = vec![CORE_USER];
        user.insert("userName".into(), json!(self.user_name));
        // Users the admin center adds can sign in at once; so can imported ones.
        user.insert("active".into(), json!(true));
        let mut name = Map::new();
        for (column, attr) in [(Column::FirstName, "givenName"), (Column::LastName, "familyName")] {
            if let Some(v) = self.value(column) {
                name.insert(attr.into(), json!(v));
            }
        }
        if !name.is_empty() {
            user.insert("name".into(), Value::Object(name));
        }
        for (column, attr) in [(Column::DisplayName, "displayName"), (Column::JobTitle, "title")] {
            if let Some(v) = self.value(column) {
                user.insert(attr.into(), json!(v));
            }
        }
        let phones: Vec<Value> = Column::ALL
            .iter()
            .filter_map(|c| Some(json!({"type": c.phone_type()?, "value": self.value(*c)?})))
            .collect();
        if !phones.is_empty() {
            user.insert("phoneNumbers".into(), Value::Array(phones));
        }
        let mut address = Map::new();
        for column in Column::ALL {
            if let (Some(part), Some(v)) = (column.address_part(), self.value(column)) {
                address.insert(part.into(), json!(v));
            }
        }
        if !address.is_empty() {
            address.insert("type".into(), json!("work"));
            user.insert("addresses".into(), json!([address]));
        }
        if let Some(v) = self.value(Column::Department) {
            schemas.push(ENTERPRISE_USER);
            user.insert(ENTERPRISE_USER.into(), json!({"department": v}));
        }
        if self.has(&[Column::OfficeNumber, Column::AlternateEmail]) {
            schemas.push(DIRECTORY_USER);
            let mut ext = Map::new();
            if let Some(v) = self.value(Column::OfficeNumber) {
                ext.insert("officeLocation".into(), json!(v));
            }
            if let Some(v) = self.value(Column::AlternateEmail) {
                ext.insert("alternateEmails".into(), json!([{"value": v}]));
            }
            user.insert(DIRECTORY_USER.into(), Value::Object(ext));
        }
        user.insert("schemas".into(), json!(schemas));
        Value::Object(user)
    }

    /// The PATCH that brings an existing user in line with this row: a `replace` of exactly the
    /// attributes the row gives, so everything else the user has is kept. Phone numbers and the
    /// address go through a value path on their `type`, so a home phone or a second address
    /// stays; the User Name only finds the user and is not rewritten.
    pub fn patch(&self) -> Value {
        let mut ops = Vec::new();
        let mut replace = |path: String, value: Value| ops.push(json!({"op": "replace", "path": path, "value": value}));
        for (column, path) in [
            (Column::FirstName, "name.givenName".to_owned()),
            (Column::LastName, "name.familyName".to_owned()),
            (Column::DisplayName, "displayName".to_owned()),
            (Column::JobTitle, "title".to_owned()),
            (Column::Department, format!("{ENTERPRISE_USER}:department")),
            (Column::OfficeNumber, format!("{DIRECTORY_USER}:officeLocation")),
        ] {
            if let Some(v) = self.value(column) {
                replace(path, json!(v));
            }
        }
        if let Some(v) = self.value(Column::AlternateEmail) {
            replace(format!("{DIRECTORY_USER}:alternateEmails"), json!([{"value": v}]));
        }
        for column in Column::ALL {
            if let (Some(ty), Some(v)) = (column.phone_type(), self.value(column)) {
                replace(format!("phoneNumbers[type eq \"{ty}\"].value"), json!(v));
            }
        }
        for column in Column::ALL {
            if let (Some(part), Some(v)) = (column.address_part(), self.value(column)) {
                replace(format!("addresses[type eq \"work\"].{part}"), json!(v));
            }
        }
        json!({"schemas": [PATCH_OP_URN], "Operations": ops})
    }
}

/// A bulk-add file whose header has been recognised; iterating yields its data rows.
pub struct CsvFile<'a> {
    reader: csv::Reader<&'a [u8]>,
    columns: Vec<Column>,
    user_name: usize,
    record: csv::ByteRecord,
    size: u64,
}

impl std::fmt::Debug for CsvFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvFile").field("columns", &self.columns).field("size", &self.size).finish()
    }
}

/// The cell separator: `;` when the header line holds more semicolons than commas outside
/// quotes, as Excel writes "CSV" in locales whose decimal separator is a comma (Dutch, German);
/// otherwise `,`.
fn delimiter(data: &[u8]) -> u8 {
    let line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let (mut quoted, mut commas, mut semicolons) = (false, 0, 0);
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas {
        b';'
    } else {
        b','
    }
}

impl<'a> CsvFile<'a> {
    /// Reads the header. A file without a `User Name` column, or with a column that is not one
    /// of the template's, is refused as a whole (400 `invalidSyntax`), naming the column.
    pub fn open(data: &'a [u8]) -> Result<CsvFile<'a>> {
        if data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]) {
            return Err(ScimError::invalid_syntax(
                "the file is UTF-16 text; save it as \"CSV UTF-8 (comma delimited)\" and import that",
            ));
        }
        // Flexible: a row with the wrong number of cells is refused on its own, not the file.
        let mut reader =
            csv::ReaderBuilder::new().flexible(true).has_headers(true).delimiter(delimiter(data)).from_reader(data);
        let header = reader
            .byte_headers()
            .map_err(|e| ScimError::invalid_syntax(format!("the header line cannot be read: {e}")))?
            .clone();
        let mut columns = Vec::with_capacity(header.len());
        for (i, cell) in header.iter().enumerate() {
            let cell = String::from_utf8_lossy(cell);
            let column = match Column::recognise(&cell) {
                Some(c) => c,
                None if cell.trim().is_empty() => {
                    return Err(ScimError::invalid_syntax(format!(
                        "column {} has no name; the columns scimd accepts are {}",
                        i + 1,
                        accepted()
                    )))
                }
                None if header.len() == 1 && cell.contains([';', '\t']) => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown column \"{}\": the header is one cell holding semicolons or tabs; save the file \
                         as CSV with commas (or semicolons only) between cells; the columns scimd accepts are {}",
                        cell.trim(),
                        accepted()
                    )))
                }
                None => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown column \"{}\"; the columns scimd accepts are {}",
                        cell.trim(),
                        accepted()
                    )))
                }
            };
            if columns.contains(&column) {
                return Err(ScimError::invalid_syntax(format!("the column \"{}\" appears twice", column.header())));
            }
            columns.push(column);
        }
        let Some(user_name) = columns.iter().position(|c| *c == Column::UserName) else {
            return Err(ScimError::invalid_syntax(format!(
                "the file has no \"User Name\" column, which every row needs; the columns scimd accepts are {}",
                accepted()
            )));
        };
        Ok(CsvFile { reader, columns, user_name, record: csv::ByteRecord::new(), size: data.len() as u64 })
    }

    /// The columns of the file, in its order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// How many bytes of the file have been read.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn row(&self) -> Row {
        let record = &self.record;
        let line = record.position().map_or(0, csv::Position::line);
        let user_name = record.get(self.user_name).map(|b| String::from_utf8_lossy(b).trim().to_owned());
        let mut row = Row { line, user_name: user_name.unwrap_or_default(), problem: None, values: Vec::new() };
        if record.len() != self.columns.len() {
            row.problem = Some(format!(
                "the row has {} cells but the header has {} columns; check for an unquoted comma",
                record.len(),
                self.columns.len()
            ));
            return row;
        }
        for (column, cell) in self.columns.iter().zip(record.iter()) {
            match std::str::from_utf8(cell) {
                Ok(v) if v.trim().is_empty() => {}
                Ok(v) => row.values.push((*column, v.trim().to_owned())),
                Err(_) => {
                    row.problem = Some(format!(
                        "the \"{}\" cell is not valid UTF-8; save the file as \"CSV UTF-8 (comma delimited)\"",
                        column.header()
                    ));
                    return row;
                }
            }
        }
        if row.user_name.is_empty() {
            row.problem = Some("the \"User Name\" cell is empty; every user needs one".into());
        }
        row
    }
}

impl Iterator for CsvFile<'_> {
    type Item = Row;

    /// The next data row. Rows whose cells are all empty (what spreadsheets leave below the
    /// data) are skipped.
    fn next(&mut self) -> Option<Row> {
        loop {
            let before = self.bytes_read();
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) if self.record.iter().all(|cell| cell.iter().all(u8::is_ascii_whitespace)) => continue,
                Ok(true) => return Some(self.row()),
                // Reading from memory with flexible rows leaves nothing to fail; should it
                // anyway, the row is refused on its own unless the reader is stuck.
                Err(e) if self.bytes_read() > before => {
                    let line = e.position().map_or(0, csv::Position::line);
                    return Some(Row {
                        line,
                        user_name: String::new(),
                        problem: Some(format!("the row cannot be read: {e}")),
                        values: Vec::new(),
                    });
                }
                Err(_) => return None,
            }
        }
    }
}

/// What the import did with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Updated,
    /// The user already had every value the row gives: nothing was written.
    Unchanged,
    Refused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Refused => "refused",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// The line of the file the row starts on (see `Row::line`).
    pub row: u64,
    pub user_name: String,
    pub status: Status,
    /// The user's id, when there is a user (none for a dry run's new users).
    pub id: Option<String>,
    /// Why the row was refused: the SCIM error's detail.
    pub detail: Option<String>,
    /// The password a new user was given, when the import was asked for temporary passwords.
    pub temporary_password: Option<TemporaryPassword>,
}

/// A password generated for a new user: shown once, in the report and the results mail, and
/// never logged (its `Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct TemporaryPassword(pub String);

impl TemporaryPassword {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TemporaryPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemporaryPassword(***)")
    }
}

/// What became of the results mail an import or a user creation asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailReport {
    /// The addresses it was sent to, as given.
    pub to: Vec<String>,
    /// Whether the SMTP server took it.
    pub sent: bool,
    /// Why it was not sent.
    pub detail: Option<String>,
}

impl MailReport {
    /// `mailed to a@x, b@y`, or `results mail to a@x, b@y failed: …`: one line for a person.
    pub fn line(&self) -> String {
        let to = self.to.join(", ");
        match &self.detail {
            None if self.sent => format!("results mailed to {to}"),
            detail => format!(
                "the results mail to {to} failed (the import itself is done): {}",
                detail.as_deref().unwrap_or("not sent")
            ),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("to".into(), json!(self.to));
        o.insert("status".into(), json!(if self.sent { "sent" } else { "failed" }));
        if let Some(d) = &self.detail {
            o.insert("detail".into(), json!(d));
        }
        Value::Object(o)
    }
}

/// The outcome of an import, a row for each data row in file order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub dry_run: bool,
    pub rows: Vec<ReportRow>,
    /// New users were given temporary passwords: the CSV has a `temporaryPassword` column.
    pub temporary_passwords: bool,
    /// The results mail, when one was asked for.
    pub mail: Option<MailReport>,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// The report as the admin endpoint's JSON body.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("row".into(), json!(r.row));
                o.insert("userName".into(), json!(r.user_name));
                o.insert("status".into(), json!(r.status.as_str()));
                if let Some(id) = &r.id {
                    o.insert("id".into(), json!(id));
                }
                if let Some(d) = &r.detail {
                    o.insert("detail".into(), json!(d));
                }
                if let Some(p) = &r.temporary_password {
                    o.insert("temporaryPassword".into(), json!(p.expose()));
                }
                Value::Object(o)
            })
            .collect();
        let mut body = json!({
            "schemas": [IMPORT_REPORT],
            "dryRun": self.dry_run,
            "totalRows": self.rows.len(),
            "created": self.count(Status::Created),
            "updated": self.count(Status::Updated),
            "unchanged": self.count(Status::Unchanged),
            "refused": self.count(Status::Refused),
            "rows": rows,
        });
        if let (Some(mail), Value::Object(o)) = (&self.mail, &mut body) {
            o.insert("mail".into(), mail.to_json());
        }
        body
    }

    /// Writes the report as CSV: `row,userName,status,id,detail`, a line per data row, and a
    /// last column `temporaryPassword` when new users were given one.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let mut header = vec!["row", "userName", "status", "id", "detail"];
        if self.temporary_passwords {
            header.push("temporaryPassword");
        }
        w.write_record(&header)?;
        for r in &self.rows {
            let row = r.row.to_string();
            let user_name = inert(&r.user_name);
            let detail = inert(r.detail.as_deref().unwrap_or(""));
            let mut record = vec![row.as_str(), &user_name, r.status.as_str(), r.id.as_deref().unwrap_or(""), &detail];
            if self.temporary_passwords {
                // Generated from characters a spreadsheet never runs (see `inert`): shown as is.
                record.push(r.temporary_password.as_ref().map(TemporaryPassword::expose).unwrap_or(""));
            }
            w.write_record(&record)?;
        }
        w.flush()
    }

    /// `N created, M updated, U unchanged, K refused in X s (R rows/s)`.
    pub fn summary(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { self.rows.len() as f64 / secs } else { 0.0 };
        format!(
            "{}{} created, {} updated, {} unchanged, {} refused in {secs:.2} s ({rate:.0} rows/s)",
            if self.dry_run { "dry run, nothing written: " } else { "" },
            self.count(Status::Created),
            self.count(Status::Updated),
            self.count(Status::Unchanged),
            self.count(Status::Refused),
        )
    }
}

/// A cell a spreadsheet will not run as a formula: text from the imported file that begins
/// with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice on
/// CSV injection), since the report is opened in the same spreadsheet program as the file.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &str) -> Vec<Row> {
        CsvFile::open(data.as_bytes()).unwrap().collect()
    }

    #[test]
    fn headers_match_in_any_case_with_spaces_and_in_any_order() {
        let file = CsvFile::open(" last name ,USER NAME,alternate EMAIL address\n".as_bytes()).unwrap();
        assert_eq!(file.columns(), [Column::LastName, Column::UserName, Column::AlternateEmail]);
    }

    #[test]
    fn a_file_excel_saved_with_semicolons_is_read_like_one_with_commas() {
        let rows = rows("\u{feff}User Name;First Name;Address\na@contoso.com;Ann;\"Dorpsstraat 1; Ede\"\n");
        assert_eq!(rows[0].user_name, "a@contoso.com");
        assert_eq!(rows[0].new_user()["name"]["givenName"], "Ann");
        assert_eq!(rows[0].new_user()["addresses"][0]["streetAddress"], "Dorpsstraat 1; Ede");
        // Commas in the header win: semicolons inside cells stay text.
        let commas = super::tests::rows("User Name,Job Title\na@contoso.com,\"Sales; EMEA\"\n");
        assert_eq!(commas[0].new_user()["title"], "Sales; EMEA");
    }

    #[test]
    fn a_header_of_one_cell_with_tabs_gets_a_hint() {
        let e = CsvFile::open(b"User Name\tFirst Name\na@contoso.com\tAnn\n").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.detail.contains("one cell holding semicolons or tabs"), "{}", e.detail);
    }

    #[test]
    fn report_cells_that_a_spreadsheet_would_run_as_formulas_are_made_inert() {
        let rows = rows("User Name\n=HYPERLINK(\"http://x\")\n@SUM(A1)\nplain@contoso.com\n");
        let report = Report {
            dry_run: true,
            rows: rows
                .iter()
                .map(|r| ReportRow {
                    row: r.line,
                    user_name: r.user_name.clone(),
                    status: Status::Refused,
                    id: None,
                    detail: Some(format!("-{} is not an address", r.user_name)),
                    temporary_password: None,
                })
                .collect(),
            ..Report::default()
        };
        let mut out = Vec::new();
        report.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
        assert!(text.contains("'@SUM(A1)"), "{text}");
        assert!(text.contains(",plain@contoso.com,"), "{text}");
        assert!(text.contains("'-plain@contoso.com is not an address"), "{text}");
    }

    #[test]
    fn a_bom_before_the_header_is_ignored() {
        let rows = rows("\u{feff}User Name,First Name\na@contoso.com,Ann\n");
        assert_eq!(rows[0].user_name, "a@contoso.com");
        assert_eq!(rows[0].new_user()["name"]["givenName"], "Ann");
    }

    #[test]
    fn a_file_without_user_name_or_with_an_unknown_column_is_refused_naming_it() {
        let e = CsvFile::open(b"First Name,Last Name\nA,B\n").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.detail.contains("no \"User Name\" column"), "{}", e.detail);
        assert!(e.detail.contains("\"ZIP or Postal Code\""), "lists the accepted columns: {}", e.detail);
        let e = CsvFile::open(b"User Name,Shoe Size\n").unwrap_err();
        assert!(e.detail.starts_with("unknown column \"Shoe Size\""), "{}", e.detail);
        assert!(CsvFile::open(b"User Name,,City\n").unwrap_err().detail.contains("column 2 has no name"));
        assert!(CsvFile::open(b"User Name,user name\n").unwrap_err().detail.contains("appears twice"));
        assert!(CsvFile::open(b"").unwrap_err().detail.contains("no \"User Name\" column"));
        assert!(CsvFile::open(b"\xff\xfeU\0s\0").unwrap_err().detail.contains("UTF-16"));
    }

    #[test]
    fn quoted_cells_keep_commas_quotes_and_line_breaks_and_rows_know_their_line() {
        let rows = rows(
            "User Name,Address,Job Title\n\"a@contoso.com\",\"1 Main St, Suite 2\nBuilding \"\"B\"\"\",Boss\nb@contoso.com,,\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].new_user()["addresses"][0]["streetAddress"], "1 Main St, Suite 2\nBuilding \"B\"");
        assert_eq!(rows[1].line, 4, "the physical line, past the line break inside the quotes");
    }

    #[test]
    fn bad_rows_are_refused_alone_and_empty_rows_are_skipped() {
        let data = b"User Name,City\na@x.com,Delft,extra\n,Delft\nc@x.com,\xe9\n,\n  ,  \nd@x.com,Leiden\n";
        let rows: Vec<Row> = CsvFile::open(data).unwrap().collect();
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert!(rows[0].problem.as_deref().unwrap().contains("3 cells but the header has 2"));
        assert_eq!(rows[0].user_name, "a@x.com");
        assert!(rows[1].problem.as_deref().unwrap().contains("\"User Name\" cell is empty"));
        assert!(rows[2].problem.as_deref().unwrap().contains("\"City\" cell is not valid UTF-8"));
        assert_eq!(rows[3].problem, None);
        assert_eq!(rows[3].line, 7);
    }

    #[test]
    fn every_column_maps_to_its_attribute() {
        let header = Column::ALL.iter().map(|c| c.header()).collect::<Vec<_>>().join(",");
        let data = format!(
            "{header}\ngeoff@contoso.com,Geoff,Grisso,Geoff Grisso,Accountant,Finance,131/1105,+1 425 555 0100,\
             +1 425 555 0101,+1 425 555 0102,1 Microsoft Way,Redmond,WA,98052,United States,geoff@home.example\n"
        );
        let user = rows(&data)[0].new_user();
        assert_eq!(
            user,
            json!({
                "userName": "geoff@contoso.com",
                "active": true,
                "name": {"givenName": "Geoff", "familyName": "Grisso"},
                "displayName": "Geoff Grisso",
                "title": "Accountant",
                "phoneNumbers": [
                    {"type": "work", "value": "+1 425 555 0100"},
                    {"type": "mobile", "value": "+1 425 555 0101"},
                    {"type": "fax", "value": "+1 425 555 0102"}
                ],
                "addresses": [{"streetAddress": "1 Microsoft Way", "locality": "Redmond", "region": "WA",
                               "postalCode": "98052", "country": "United States", "type": "work"}],
                ENTERPRISE_USER: {"department": "Finance"},
                DIRECTORY_USER: {"officeLocation": "131/1105", "alternateEmails": [{"value": "geoff@home.example"}]},
                "schemas": [CORE_USER, ENTERPRISE_USER, DIRECTORY_USER]
            })
        );
    }

    #[test]
    fn empty_and_missing_cells_are_not_given() {
        let row = &rows("User Name,First Name,Department,City\n a@x.com , ,,\n")[0];
        assert_eq!(row.user_name, "a@x.com");
        assert_eq!(row.new_user(), json!({"userName": "a@x.com", "active": true, "schemas": [CORE_USER]}));
        assert_eq!(row.patch(), json!({"schemas": [PATCH_OP_URN], "Operations": []}));
    }

    #[test]
    fn the_patch_replaces_exactly_the_given_attributes() {
        let row = &rows("User Name,Last Name,Mobile Phone,City,Department\na@x.com,Jensen,06 1234,Delft,Sales\n")[0];
        let ops = row.patch()["Operations"].clone();
        let paths: Vec<&str> = ops.as_array().unwrap().iter().map(|o| o["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "name.familyName",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "phoneNumbers[type eq \"mobile\"].value",
                "addresses[type eq \"work\"].locality"
            ]
        );
        assert!(ops.as_array().unwrap().iter().all(|o| o["op"] == "replace"));
    }

    #[test]
    fn the_report_is_csv_json_and_a_summary() {
        let report = Report {
            dry_run: false,
            rows: vec![
                ReportRow {
                    row: 2,
                    user_name: "a@x.com".into(),
                    status: Status::Created,
                    id: Some("id-1".into()),
                    detail: None,
                    temporary_password: None,
                },
                ReportRow {
                    row: 3,
                    user_name: "b,c".into(),
                    status: Status::Refused,
                    id: None,
                    detail: Some("userName \"b,c\" is bad".into()),
                    temporary_password: None,
                },
            ],
            ..Report::default()
        };
        let mut out = Vec::new();
        report.write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "row,userName,status,id,detail\n2,a@x.com,created,id-1,\n3,\"b,c\",refused,,\"userName \"\"b,c\"\" is bad\"\n"
        );
        let body = report.to_json();
        assert_eq!(body["schemas"], json!([IMPORT_REPORT]));
        assert_eq!((body["created"].clone(), body["refused"].clone()), (json!(1), json!(1)));
        assert_eq!(
            body["rows"][1],
            json!({"row": 3, "userName": "b,c", "status": "refused", "detail": "userName \"b,c\" is bad"})
        );
        assert_eq!(
            report.summary(Duration::from_secs(2)),
            "1 created, 0 updated, 0 unchanged, 1 refused in 2.00 s (1 rows/s)"
        );
    }

    #[test]
    fn temporary_passwords_are_a_last_column_and_a_field_but_never_debug_output() {
        let secret = TemporaryPassword("Kq7#vT2m!pX9wR4z_hN6".into());
        let report = Report {
            rows: vec![
                ReportRow {
                    row: 2,
                    user_name: "a@x.com".into(),
                    status: Status::Created,
                    id: Some("id-1".into()),
                    detail: None,
                    temporary_password: Some(secret.clone()),
                },
                ReportRow {
                    row: 3,
                    user_name: "b@x.com".into(),
                    status: Status::Updated,
                    id: Some("id-2".into()),
                    detail: None,
                    temporary_password: None,
                },
            ],
            temporary_passwords: true,
            mail: Some(MailReport { to: vec!["it@x.com".into()], sent: false, detail: Some("refused".into()) }),
            ..Report::default()
        };
        let mut out = Vec::new();
        report.write_csv(&mut out).unwrap();

        assert_eq!(
            String::from_utf8(out).unwrap(),
            "row,userName,status,id,detail,temporaryPassword\n2,a@x.com,created,id-1,,Kq7#vT2m!pX9wR4z_hN6\n\
             3,b@x.com,updated,id-2,,\n"
        );
        let body = report.to_json();
        assert_eq!(body["rows"][0]["temporaryPassword"], secret.expose());
        assert_eq!(body["rows"][1].get("temporaryPassword"), None);
        assert_eq!(body["mail"], json!({"to": ["it@x.com"], "status": "failed", "detail": "refused"}));
        assert!(!format!("{report:?}").contains(secret.expose()), "Debug hides the password");
    }
}
