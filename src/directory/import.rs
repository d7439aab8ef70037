//! The Office 365 "bulk add users" CSV (DESIGN.md §4 "CSV import"), and HR exports read through
//! a column map: which columns a file may have, how a row becomes a new SCIM User or a PATCH of
//! an existing one, and the report.
//!
//! Pure: it reads and writes byte buffers, never files, and knows no runtime or database.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
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
        let name = header_name(cell);
        Column::ALL.into_iter().find(|c| c.header().eq_ignore_ascii_case(name))
    }

    /// The attribute the template's column fills.
    pub fn target(self) -> Target {
        match self {
            Column::UserName => Target::UserName,
            Column::FirstName => Target::GivenName,
            Column::LastName => Target::FamilyName,
            Column::DisplayName => Target::DisplayName,
            Column::JobTitle => Target::Title,
            Column::Department => Target::Enterprise("department"),
            Column::OfficeNumber => Target::OfficeLocation,
            Column::OfficePhone => Target::Phone("work"),
            Column::MobilePhone => Target::Phone("mobile"),
            Column::Fax => Target::Phone("fax"),
            Column::Address => Target::Address("streetAddress"),
            Column::City => Target::Address("locality"),
            Column::StateOrProvince => Target::Address("region"),
            Column::PostalCode => Target::Address("postalCode"),
            Column::CountryOrRegion => Target::Address("country"),
            Column::AlternateEmail => Target::AlternateEmail,
        }
    }
}

/// A header cell without a stray BOM and surrounding spaces.
fn header_name(cell: &str) -> &str {
    cell.trim_start_matches('\u{feff}').trim()
}

/// The SCIM attribute a column fills: those of the bulk-add template, and the others a column
/// map may name (HR exports carry employee numbers, managers, licenses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    UserName,
    ExternalId,
    GivenName,
    FamilyName,
    MiddleName,
    DisplayName,
    Title,
    PreferredLanguage,
    /// `true` or `false` (also `yes`/`no`, `1`/`0`); new users are active when not given.
    Active,
    /// The `value` of the phone number of this `type`.
    Phone(&'static str),
    /// This sub-attribute of the `work` address.
    Address(&'static str),
    /// This string attribute of the enterprise extension.
    Enterprise(&'static str),
    /// The manager's employee number or userName, resolved to `manager.value` once every row
    /// of the file has a user.
    Manager,
    OfficeLocation,
    UsageLocation,
    /// One address of `alternateEmails`.
    AlternateEmail,
    /// License part numbers separated by `;`: the user's licenses become exactly these.
    Licenses,
}

impl Target {
    /// Every attribute a column map may name, by the name the map uses.
    pub const ALL: [(&'static str, Target); 27] = [
        ("userName", Target::UserName),
        ("externalId", Target::ExternalId),
        ("name.givenName", Target::GivenName),
        ("name.familyName", Target::FamilyName),
        ("name.middleName", Target::MiddleName),
        ("displayName", Target::DisplayName),
        ("title", Target::Title),
        ("preferredLanguage", Target::PreferredLanguage),
        ("active", Target::Active),
        ("phoneNumbers.work", Target::Phone("work")),
        ("phoneNumbers.mobile", Target::Phone("mobile")),
        ("phoneNumbers.fax", Target::Phone("fax")),
        ("addresses.streetAddress", Target::Address("streetAddress")),
        ("addresses.locality", Target::Address("locality")),
        ("addresses.region", Target::Address("region")),
        ("addresses.postalCode", Target::Address("postalCode")),
        ("addresses.country", Target::Address("country")),
        ("employeeNumber", Target::Enterprise("employeeNumber")),
        ("costCenter", Target::Enterprise("costCenter")),
        ("organization", Target::Enterprise("organization")),
        ("division", Target::Enterprise("division")),
        ("department", Target::Enterprise("department")),
        ("manager", Target::Manager),
        ("officeLocation", Target::OfficeLocation),
        ("usageLocation", Target::UsageLocation),
        ("alternateEmails", Target::AlternateEmail),
        ("licenses", Target::Licenses),
    ];

    fn parse(name: &str) -> Option<Target> {
        Target::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, t)| *t)
    }

    fn name(self) -> &'static str {
        Target::ALL.iter().find(|(_, t)| *t == self).map_or("", |(n, _)| n)
    }

    /// The PATCH path of a single-valued attribute (those `new_user` puts as plain strings).
    fn path(self) -> Option<String> {
        Some(match self {
            Target::ExternalId => "externalId".into(),
            Target::GivenName => "name.givenName".into(),
            Target::FamilyName => "name.familyName".into(),
            Target::MiddleName => "name.middleName".into(),
            Target::DisplayName => "displayName".into(),
            Target::Title => "title".into(),
            Target::PreferredLanguage => "preferredLanguage".into(),
            Target::Enterprise(attr) => format!("{ENTERPRISE_USER}:{attr}"),
            Target::OfficeLocation => format!("{DIRECTORY_USER}:officeLocation"),
            Target::UsageLocation => format!("{DIRECTORY_USER}:usageLocation"),
            _ => return None,
        })
    }
}

/// The single-valued attributes, in the order a PATCH replaces them.
const SCALARS: [Target; 12] = [
    Target::ExternalId,
    Target::GivenName,
    Target::FamilyName,
    Target::MiddleName,
    Target::DisplayName,
    Target::Title,
    Target::PreferredLanguage,
    Target::Enterprise("employeeNumber"),
    Target::Enterprise("costCenter"),
    Target::Enterprise("organization"),
    Target::Enterprise("division"),
    Target::Enterprise("department"),
];
const DIRECTORY_SCALARS: [Target; 2] = [Target::OfficeLocation, Target::UsageLocation];
const PHONES: [&str; 3] = ["work", "mobile", "fax"];
const ADDRESS_PARTS: [&str; 5] = ["streetAddress", "locality", "region", "postalCode", "country"];

/// An HR export's columns: which header fills which attribute, and which headers are read and
/// dropped. Read from a JSON file:
///
/// ```json
/// {"columns": {"Employee ID": "employeeNumber", "Email": "userName"}, "ignore": ["Salary band"]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    columns: Vec<(String, Target)>,
    ignore: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnMapFile {
    columns: Map<String, Value>,
    #[serde(default)]
    ignore: Vec<String>,
}

impl ColumnMap {
    /// Reads a map. Every attribute must be one `Target::ALL` names and appear once, and one
    /// column must give `userName`.
    pub fn parse(text: &[u8]) -> Result<ColumnMap> {
        let file: ColumnMapFile = serde_json::from_slice(text).map_err(|e| {
            ScimError::invalid_syntax(format!(
                "the column map is not valid: {e}; it is a JSON object {{\"columns\": {{\"HEADER\": \"ATTRIBUTE\", …}}, \
                 \"ignore\": [\"HEADER\", …]}}"
            ))
        })?;
        let mut columns: Vec<(String, Target)> = Vec::with_capacity(file.columns.len());
        for (header, attr) in file.columns {
            let Some(target) = attr.as_str().and_then(Target::parse) else {
                return Err(ScimError::invalid_syntax(format!(
                    "the column map gives \"{header}\" the attribute {attr}, which is not one it may name; the \
                     attributes are {}",
                    Target::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                )));
            };
            if let Some((other, _)) = columns.iter().find(|(_, t)| *t == target) {
                return Err(ScimError::invalid_syntax(format!(
                    "the column map gives {} to both \"{other}\" and \"{header}\"",
                    target.name()
                )));
            }
            columns.push((header_name(&header).to_owned(), target));
        }
        if !columns.iter().any(|(_, t)| *t == Target::UserName) {
            return Err(ScimError::invalid_syntax(
                "the column map names no column for userName, which every row needs",
            ));
        }
        let ignore = file.ignore.iter().map(|h| header_name(h).to_owned()).collect();
        Ok(ColumnMap { columns, ignore })
    }

    /// What a header cell is: `Some(Some(target))` for a mapped column, `Some(None)` for an
    /// ignored one, `None` for a header the map does not know.
    fn recognise(&self, cell: &str) -> Option<Option<Target>> {
        let name = header_name(cell);
        if let Some((_, t)) = self.columns.iter().find(|(h, _)| h.eq_ignore_ascii_case(name)) {
            return Some(Some(*t));
        }
        self.ignore.iter().any(|h| h.eq_ignore_ascii_case(name)).then_some(None)
    }

    fn accepted(&self) -> String {
        self.columns
            .iter()
            .map(|(h, _)| h)
            .chain(&self.ignore)
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn user_name_header(&self) -> &str {
        self.columns.iter().find(|(_, t)| *t == Target::UserName).map_or("", |(h, _)| h)
    }
}

/// The accepted headers, for error messages.
fn accepted() -> String {
    Column::ALL.iter().map(|c| format!("\"{}\"", c.header())).collect::<Vec<_>>().join(", ")
}

/// The `active` cell's value.
fn parse_active(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// License ids by part number (upper case), as the tenant has them.
pub type LicenseIds = HashMap<String, String>;

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
    values: Vec<(Target, String)>,
    /// The License ids the `licenses` cell names, once `resolve_licenses` found them.
    license_ids: Vec<String>,
    /// The manager's user id, when it was known as the row was read (`resolve_manager`).
    manager_id: Option<String>,
}

impl Row {
    fn value(&self, target: Target) -> Option<&str> {
        self.values.iter().find(|(t, _)| *t == target).map(|(_, v)| v.as_str())
    }

    fn has(&self, targets: &[Target]) -> bool {
        targets.iter().any(|t| self.value(*t).is_some())
    }

    /// Gives the row its manager's user id: the row's own POST or PATCH then sets the manager.
    pub fn resolve_manager(&mut self, id: String) {
        self.manager_id = Some(id);
    }

    /// A hash of everything the row's PATCH is made of (its cells with what each fills, the
    /// License ids and manager id they resolved to): rows with the same hash make the same PATCH.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        use std::fmt::Write as _;
        // Each part with its length first, so that no two rows run together into one text.
        let mut text = String::with_capacity(512);
        let mut part = |s: &dyn std::fmt::Display| {
            let start = text.len();
            let _ = write!(text, "{s}");
            let len = text.len() - start;
            let _ = write!(text, "\0{len}\0");
        };
        part(&self.user_name);
        for (target, value) in &self.values {
            part(&format_args!("{target:?}"));
            part(value);
        }
        for id in &self.license_ids {
            part(id);
        }
        part(&self.manager_id.as_deref().unwrap_or_default());
        let digest = Sha256::digest(text.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            let _ = write!(hex, "{b:02x}");
        }
        hex
    }

    /// The manager cell: an employee number or a userName.
    pub fn manager(&self) -> Option<&str> {
        self.value(Target::Manager)
    }

    /// The employee number cell.
    pub fn employee_number(&self) -> Option<&str> {
        self.value(Target::Enterprise("employeeNumber"))
    }

    /// The part numbers of the `licenses` cell, separated by `;`.
    pub fn license_parts(&self) -> Vec<&str> {
        self.value(Target::Licenses)
            .map(|v| v.split(';').map(str::trim).filter(|p| !p.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Turns the `licenses` cell's part numbers into License ids; a part number the tenant
    /// has no License for refuses the row.
    pub fn resolve_licenses(&mut self, ids: &LicenseIds) {
        let mut found = Vec::new();
        let parts: Vec<String> = self.license_parts().into_iter().map(str::to_owned).collect();
        for part in parts {
            match ids.get(&part.to_ascii_uppercase()) {
                Some(id) => found.push(id.clone()),
                None if self.problem.is_none() => {
                    let mut parts: Vec<&String> = ids.keys().collect();
                    parts.sort();
                    self.problem = Some(format!(
                        "the tenant has no license {part:?}; add it with `scimd license add` or use one of: {}",
                        parts.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
                None => {}
            }
        }
        self.license_ids = found;
    }

    fn licenses(&self) -> Value {
        Value::Array(self.license_ids.iter().map(|id| json!({"value": id})).collect())
    }

    /// The SCIM User a POST would send for this row.
    pub fn new_user(&self) -> Value {
        let mut user = Map::new();
        let mut schemas = vec![CORE_USER];
        user.insert("userName".into(), json!(self.user_name));
        // Users the admin center adds can sign in at once; so can imported ones.
        let active = self.value(Target::Active).and_then(parse_active).unwrap_or(true);
        user.insert("active".into(), json!(active));
        let mut name = Map::new();
        for (target, attr) in
            [(Target::GivenName, "givenName"), (Target::FamilyName, "familyName"), (Target::MiddleName, "middleName")]
        {
            if let Some(v) = self.value(target) {
                name.insert(attr.into(), json!(v));
            }
        }
        if !name.is_empty() {
            user.insert("name".into(), Value::Object(name));
        }
        for (target, attr) in [
            (Target::ExternalId, "externalId"),
            (Target::DisplayName, "displayName"),
            (Target::Title, "title"),
            (Target::PreferredLanguage, "preferredLanguage"),
        ] {
            if let Some(v) = self.value(target) {
                user.insert(attr.into(), json!(v));
            }
        }
        let phones: Vec<Value> =
            PHONES.iter().filter_map(|ty| Some(json!({"type": ty, "value": self.value(Target::Phone(ty))?}))).collect();
        if !phones.is_empty() {
            user.insert("phoneNumbers".into(), Value::Array(phones));
        }
        let mut address = Map::new();
        for part in ADDRESS_PARTS {
            if let Some(v) = self.value(Target::Address(part)) {
                address.insert(part.into(), json!(v));
            }
        }
        if !address.is_empty() {
            address.insert("type".into(), json!("work"));
            user.insert("addresses".into(), json!([address]));
        }
        let mut enterprise = Map::new();
        for target in SCALARS {
            if let (Target::Enterprise(attr), Some(v)) = (target, self.value(target)) {
                enterprise.insert(attr.into(), json!(v));
            }
        }
        if let Some(id) = &self.manager_id {
            enterprise.insert("manager".into(), json!({"value": id}));
        }
        if !enterprise.is_empty() {
            schemas.push(ENTERPRISE_USER);
            user.insert(ENTERPRISE_USER.into(), Value::Object(enterprise));
        }
        if self.has(&[Target::OfficeLocation, Target::UsageLocation, Target::AlternateEmail, Target::Licenses]) {
            schemas.push(DIRECTORY_USER);
            let mut ext = Map::new();
            for (target, attr) in [(Target::OfficeLocation, "officeLocation"), (Target::UsageLocation, "usageLocation")]
            {
                if let Some(v) = self.value(target) {
                    ext.insert(attr.into(), json!(v));
                }
            }
            if let Some(v) = self.value(Target::AlternateEmail) {
                ext.insert("alternateEmails".into(), json!([{"value": v}]));
            }
            if self.value(Target::Licenses).is_some() {
                ext.insert("licenses".into(), self.licenses());
            }
            user.insert(DIRECTORY_USER.into(), Value::Object(ext));
        }
        user.insert("schemas".into(), json!(schemas));
        Value::Object(user)
    }

    /// The PATCH that brings an existing user in line with this row: a `replace` of exactly the
    /// attributes the row gives, so everything else the user has is kept. Phone numbers and the
    /// address go through a value path on their `type`, so a home phone or a second address
    /// stays; the User Name only finds the user and is not rewritten. The manager is set here
    /// when the row knows its id; otherwise apart, once every row has a user.
    pub fn patch(&self) -> Value {
        let mut ops = Vec::new();
        let mut replace = |path: String, value: Value| ops.push(json!({"op": "replace", "path": path, "value": value}));
        for target in SCALARS.into_iter().chain(DIRECTORY_SCALARS) {
            if let (Some(path), Some(v)) = (target.path(), self.value(target)) {
                replace(path, json!(v));
            }
        }
        if let Some(active) = self.value(Target::Active).and_then(parse_active) {
            replace("active".into(), json!(active));
        }
        if let Some(v) = self.value(Target::AlternateEmail) {
            replace(format!("{DIRECTORY_USER}:alternateEmails"), json!([{"value": v}]));
        }
        if self.value(Target::Licenses).is_some() {
            replace(format!("{DIRECTORY_USER}:licenses"), self.licenses());
        }
        for ty in PHONES {
            if let Some(v) = self.value(Target::Phone(ty)) {
                replace(format!("phoneNumbers[type eq \"{ty}\"].value"), json!(v));
            }
        }
        for part in ADDRESS_PARTS {
            if let Some(v) = self.value(Target::Address(part)) {
                replace(format!("addresses[type eq \"work\"].{part}"), json!(v));
            }
        }
        if let Some(id) = &self.manager_id {
            replace(format!("{ENTERPRISE_USER}:manager"), json!({"value": id}));
        }
        json!({"schemas": [PATCH_OP_URN], "Operations": ops})
    }
}

/// A bulk-add file whose header has been recognised; iterating yields its data rows.
pub struct CsvFile<'a> {
    reader: csv::Reader<&'a [u8]>,
    /// What each column fills; `None` for a column the map ignores.
    columns: Vec<Option<Target>>,
    /// The header cells, trimmed, for messages.
    headers: Vec<String>,
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
    /// Reads the header of a bulk-add file. A file without a `User Name` column, or with a
    /// column that is not one of the template's, is refused as a whole (400 `invalidSyntax`),
    /// naming the column.
    pub fn open(data: &'a [u8]) -> Result<CsvFile<'a>> {
        CsvFile::open_with(data, None)
    }

    /// Reads the header, through `map` when given (then its headers are the ones accepted),
    /// else as the bulk-add template's.
    pub fn open_with(data: &'a [u8], map: Option<&ColumnMap>) -> Result<CsvFile<'a>> {
        if data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]) {
            return Err(ScimError::invalid_syntax(
                "the file is UTF-16 text; save it as \"CSV UTF-8 (comma delimited)\" and import that",
            ));
        }
        let accepted = || match map {
            Some(m) => format!("the columns the map accepts are {}", m.accepted()),
            None => format!("the columns scimd accepts are {}", accepted()),
        };
        // Flexible: a row with the wrong number of cells is refused on its own, not the file.
        let mut reader =
            csv::ReaderBuilder::new().flexible(true).has_headers(true).delimiter(delimiter(data)).from_reader(data);
        let header = reader
            .byte_headers()
            .map_err(|e| ScimError::invalid_syntax(format!("the header line cannot be read: {e}")))?
            .clone();
        let mut columns = Vec::with_capacity(header.len());
        let mut headers = Vec::with_capacity(header.len());
        for (i, cell) in header.iter().enumerate() {
            let cell = String::from_utf8_lossy(cell);
            let recognised = match map {
                Some(m) => m.recognise(&cell),
                None => Column::recognise(&cell).map(|c| Some(c.target())),
            };
            let target = match recognised {
                Some(t) => t,
                None if cell.trim().is_empty() => {
                    return Err(ScimError::invalid_syntax(format!("column {} has no name; {}", i + 1, accepted())))
                }
                None if header.len() == 1 && cell.contains([';', '\t']) => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown column \"{}\": the header is one cell holding semicolons or tabs; save the file \
                         as CSV with commas (or semicolons only) between cells; {}",
                        cell.trim(),
                        accepted()
                    )))
                }
                None if map.is_some() => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown column \"{}\"; {}; list it under \"ignore\" in the map to skip it",
                        cell.trim(),
                        accepted()
                    )))
                }
                None => {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown column \"{}\"; {}",
                        cell.trim(),
                        accepted()
                    )))
                }
            };
            if target.is_some() && columns.contains(&target)
                || headers.iter().any(|h: &String| h.eq_ignore_ascii_case(header_name(&cell)))
            {
                return Err(ScimError::invalid_syntax(format!("the column \"{}\" appears twice", header_name(&cell))));
            }
            columns.push(target);
            headers.push(header_name(&cell).to_owned());
        }
        let Some(user_name) = columns.iter().position(|c| *c == Some(Target::UserName)) else {
            return Err(ScimError::invalid_syntax(match map {
                Some(m) => format!(
                    "the file has no \"{}\" column, which the map gives userName and every row needs; {}",
                    m.user_name_header(),
                    accepted()
                ),
                None => format!("the file has no \"User Name\" column, which every row needs; {}", accepted()),
            }));
        };
        Ok(CsvFile { reader, columns, headers, user_name, record: csv::ByteRecord::new(), size: data.len() as u64 })
    }

    /// What the file's columns fill, in its order (`None` for an ignored column).
    pub fn columns(&self) -> &[Option<Target>] {
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
        let mut row = Row {
            line,
            user_name: user_name.unwrap_or_default(),
            problem: None,
            values: Vec::new(),
            license_ids: Vec::new(),
            manager_id: None,
        };
        if record.len() != self.columns.len() {
            row.problem = Some(format!(
                "the row has {} cells but the header has {} columns; check for an unquoted comma",
                record.len(),
                self.columns.len()
            ));
            return row;
        }
        for ((target, header), cell) in self.columns.iter().zip(&self.headers).zip(record.iter()) {
            let Some(target) = target else { continue };
            match std::str::from_utf8(cell) {
                Ok(v) if v.trim().is_empty() => {}
                Ok(v) if *target == Target::Active && parse_active(v.trim()).is_none() => {
                    row.problem = Some(format!("the \"{header}\" cell is {:?}; it must be true or false", v.trim()));
                    return row;
                }
                Ok(v) => row.values.push((*target, v.trim().to_owned())),
                Err(_) => {
                    row.problem = Some(format!(
                        "the \"{header}\" cell is not valid UTF-8; save the file as \"CSV UTF-8 (comma delimited)\""
                    ));
                    return row;
                }
            }
        }
        if row.user_name.is_empty() {
            let header = self.headers.get(self.user_name).map_or("User Name", String::as_str);
            row.problem = Some(format!("the \"{header}\" cell is empty; every user needs one"));
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
                        license_ids: Vec::new(),
                        manager_id: None,
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
    /// A sync's user of its source that the file no longer lists: `active` set to false.
    Deactivated,
    /// A sync's inactive user of its source that the file lists again: active once more.
    Reactivated,
}

impl Status {
    /// Every outcome a row can have.
    pub const ALL: [Status; 6] = [
        Status::Created,
        Status::Updated,
        Status::Unchanged,
        Status::Refused,
        Status::Deactivated,
        Status::Reactivated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
            Status::Refused => "refused",
            Status::Deactivated => "deactivated",
            Status::Reactivated => "reactivated",
        }
    }
}

/// The name of an HR source (`--source`, `scimd import-source add NAME`): 1 to 64 ASCII
/// letters, digits, `.`, `-` or `_`, compared as written. It is recorded on every user of the
/// source (`importSource`) and named in URLs, so it holds nothing that needs quoting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceName(String);

/// The longest source name.
pub const MAX_SOURCE_NAME: usize = 64;

impl SourceName {
    pub fn parse(name: &str) -> Result<SourceName> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        if name.is_empty() || name.len() > MAX_SOURCE_NAME || !name.chars().all(ok) {
            return Err(ScimError::invalid_value(format!(
                "{name:?} is not a source name: use 1 to {MAX_SOURCE_NAME} letters, digits, '.', '-' or '_', \
                 such as \"workday\""
            )));
        }
        Ok(SourceName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SourceName {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        SourceName::parse(s).map_err(|e| e.detail.into_owned())
    }
}

/// How many users of its source a sync may deactivate: a number, or a percentage of the
/// source's active users (`10%`, the default), so a truncated file cannot block everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxDeactivate {
    Count(u64),
    Percent(u64),
}

impl Default for MaxDeactivate {
    fn default() -> Self {
        MaxDeactivate::Percent(10)
    }
}

impl std::str::FromStr for MaxDeactivate {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("{s:?} is not a number of users (5) or a percentage (10%)");
        match s.trim().strip_suffix('%') {
            Some(p) => match p.trim().parse() {
                Ok(p) if p <= 100 => Ok(MaxDeactivate::Percent(p)),
                _ => Err(bad()),
            },
            None => s.trim().parse().map(MaxDeactivate::Count).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for MaxDeactivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxDeactivate::Count(n) => write!(f, "{n}"),
            MaxDeactivate::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl MaxDeactivate {
    /// The most users a sync may deactivate when its source has `active` active users.
    pub fn limit(self, active: usize) -> usize {
        match self {
            MaxDeactivate::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            MaxDeactivate::Percent(p) => active.saturating_mul(usize::try_from(p).unwrap_or(100)) / 100,
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
    /// A sync (`--mode sync`): the summary counts deactivated and reactivated users.
    pub sync: bool,
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
        if let (true, Value::Object(o)) = (self.sync, &mut body) {
            o.insert("deactivated".into(), json!(self.count(Status::Deactivated)));
            o.insert("reactivated".into(), json!(self.count(Status::Reactivated)));
        }
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
        let sync = match self.sync {
            true => format!(
                "{} deactivated, {} reactivated, ",
                self.count(Status::Deactivated),
                self.count(Status::Reactivated)
            ),
            false => String::new(),
        };
        format!(
            "{}{} created, {} updated, {} unchanged, {sync}{} refused in {secs:.2} s ({rate:.0} rows/s)",
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
    fn rows_that_make_the_same_patch_have_the_same_fingerprint() {
        let r = rows(
            "User Name,First Name,Last Name,Job Title\n\
             a@contoso.com,Ann,Lee,Chef\n\
             a@contoso.com , Ann ,Lee,Chef\n\
             a@contoso.com,Ann,Lee,Cook\n\
             a@contoso.com,Ann,,LeeChef\n\
             b@contoso.com,Ann,Lee,Chef\n",
        );
        let prints: Vec<String> = r.iter().map(Row::fingerprint).collect();
        assert_eq!(prints[0].len(), 64);
        // Trimmed cells are the same cells.
        assert_eq!(prints[0], prints[1]);
        // Another value, the same text in other columns, another user: another fingerprint.
        for other in &prints[2..] {
            assert_ne!(&prints[0], other);
        }
        // So is a resolved manager.
        let mut managed = r[0].clone();
        managed.resolve_manager("m-1".into());
        assert_ne!(managed.fingerprint(), prints[0]);
    }

    #[test]
    fn source_names_are_short_and_need_no_quoting() {
        for ok in ["workday", "hr.payroll-2", "A_B", &"x".repeat(MAX_SOURCE_NAME)] {
            assert_eq!(SourceName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "work day", "hr\"", "hr/x", "é", &"x".repeat(MAX_SOURCE_NAME + 1)] {
            let e = SourceName::parse(bad).unwrap_err();
            assert_eq!((e.status, e.scim_type.map(|t| t.as_str())), (400, Some("invalidValue")), "{bad:?}");
            assert!(e.detail.contains("letters, digits"), "{}", e.detail);
        }
    }

    #[test]
    fn headers_match_in_any_case_with_spaces_and_in_any_order() {
        let file = CsvFile::open(" last name ,USER NAME,alternate EMAIL address\n".as_bytes()).unwrap();
        let want = [Column::LastName, Column::UserName, Column::AlternateEmail].map(|c| Some(c.target()));
        assert_eq!(file.columns(), want);
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

    const HR_MAP: &str = include_str!("../../examples/hr-map.json");

    #[test]
    fn the_example_map_reads_an_hr_export_into_every_attribute() {
        let map = ColumnMap::parse(HR_MAP.as_bytes()).unwrap();
        let data = "Employee ID,Email,First Name,Last Name,Job Title,Cost Center,Company,Division,Department,\
                    Manager ID,Country,Licenses,Active,Work Phone,Language,Salary Band\n\
                    1001,ann@x.com,Ann,Smith,Clerk,CC-7,Contoso,EMEA,Sales,1000,nl,E3; EMS,no,+31 15 1,nl-NL,B4\n";
        let mut row = CsvFile::open_with(data.as_bytes(), Some(&map)).unwrap().next().unwrap();
        let ids: LicenseIds = [("E3".to_owned(), "id-e3".to_owned()), ("EMS".to_owned(), "id-ems".to_owned())].into();
        row.resolve_licenses(&ids);

        assert_eq!(row.problem, None);
        assert_eq!((row.employee_number(), row.manager()), (Some("1001"), Some("1000")));
        assert_eq!(
            row.new_user(),
            json!({
                "userName": "ann@x.com",
                "active": false,
                "name": {"givenName": "Ann", "familyName": "Smith"},
                "title": "Clerk",
                "preferredLanguage": "nl-NL",
                "phoneNumbers": [{"type": "work", "value": "+31 15 1"}],
                ENTERPRISE_USER: {"employeeNumber": "1001", "costCenter": "CC-7", "organization": "Contoso",
                                  "division": "EMEA", "department": "Sales"},
                DIRECTORY_USER: {"usageLocation": "nl", "licenses": [{"value": "id-e3"}, {"value": "id-ems"}]},
                "schemas": [CORE_USER, ENTERPRISE_USER, DIRECTORY_USER]
            })
        );
        let ops = row.patch()["Operations"].clone();
        assert!(ops
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["path"] != "userName" && !o["path"].as_str().unwrap().ends_with(":manager")));
        assert!(ops.as_array().unwrap().contains(&json!({"op": "replace", "path": "active", "value": false})));

        // A manager the run already knows goes into the row's own POST and PATCH.
        row.resolve_manager("id-1000".into());
        assert_eq!(row.new_user()[ENTERPRISE_USER]["manager"], json!({"value": "id-1000"}));
        let manager =
            json!({"op": "replace", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": "id-1000"}});
        assert!(row.patch()["Operations"].as_array().unwrap().contains(&manager));
    }

    #[test]
    fn a_mapped_file_refuses_headers_the_map_neither_names_nor_ignores() {
        let map = ColumnMap::parse(br#"{"columns": {"Email": "userName"}, "ignore": ["Salary"]}"#).unwrap();
        assert!(CsvFile::open_with(b"email, SALARY \n", Some(&map)).is_ok());
        let e = CsvFile::open_with(b"Email,Shoe Size\n", Some(&map)).unwrap_err();
        assert!(e.detail.starts_with("unknown column \"Shoe Size\""), "{}", e.detail);
        assert!(e.detail.contains("list it under \"ignore\""), "{}", e.detail);
        let e = CsvFile::open_with(b"Salary\n", Some(&map)).unwrap_err();
        assert!(e.detail.contains("no \"Email\" column"), "{}", e.detail);
    }

    #[test]
    fn a_map_with_an_unknown_or_repeated_attribute_or_no_user_name_is_refused() {
        let e = ColumnMap::parse(br#"{"columns": {"Email": "userName", "Shoe": "shoeSize"}}"#).unwrap_err();
        assert!(e.detail.contains("\"Shoe\" the attribute \"shoeSize\""), "{}", e.detail);
        let e = ColumnMap::parse(br#"{"columns": {"Email": "userName", "Mail": "USERNAME"}}"#).unwrap_err();
        assert!(e.detail.contains("both \"Email\" and \"Mail\""), "{}", e.detail);
        let e = ColumnMap::parse(br#"{"columns": {"Name": "displayName"}}"#).unwrap_err();
        assert!(e.detail.contains("no column for userName"), "{}", e.detail);
        assert!(ColumnMap::parse(b"columns = 1").unwrap_err().detail.contains("not valid"));
    }

    #[test]
    fn a_bad_active_cell_or_an_unknown_license_refuses_the_row() {
        let map =
            ColumnMap::parse(br#"{"columns": {"Email": "userName", "On": "active", "Lic": "licenses"}}"#).unwrap();
        let rows: Vec<Row> =
            CsvFile::open_with(b"Email,On,Lic\na@x.com,maybe,\nb@x.com,yes,E3;E5\n", Some(&map)).unwrap().collect();
        assert!(rows[0].problem.as_deref().unwrap().contains("\"On\" cell is \"maybe\""), "{:?}", rows[0]);
        let mut row = rows[1].clone();
        row.resolve_licenses(&[("E3".to_owned(), "id-e3".to_owned())].into());
        assert!(row.problem.as_deref().unwrap().contains("no license \"E5\""), "{row:?}");
    }

    #[test]
    fn max_deactivate_is_a_count_or_a_percentage_of_the_active_users() {
        assert_eq!("10%".parse::<MaxDeactivate>().unwrap().limit(50), 5);
        assert_eq!(" 3 ".parse::<MaxDeactivate>().unwrap().limit(1000), 3);
        assert_eq!(MaxDeactivate::default().limit(9), 0, "rounded down: 10% of 9 is none");
        assert!("101%".parse::<MaxDeactivate>().is_err());
        assert!("many".parse::<MaxDeactivate>().unwrap_err().contains("percentage"));
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
