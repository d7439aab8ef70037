//! A tenant's stored HR sources (`scimd import-source`): the column map and valve a sync of
//! each runs with, and the options `POST /Admin/Import?source=NAME` takes from one.

use crate::directory::import::{ColumnMap, MaxDeactivate, SourceName};
use crate::scim::error::{Result, ScimError};
use crate::service::import::{SourceParams, SyncOptions};
use crate::service::{Caller, Scope, Service};
use crate::store::{ImportSource, StoreError};

/// The largest column map a source may store: a map of every attribute with a hundred ignored
/// columns is a few KiB.
pub const MAX_MAP_BYTES: usize = 64 * 1024;

/// What an import over HTTP does with the users its file does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Leave them as they are (`scimd import`'s `--mode import`).
    Add,
    Sync,
}

impl Mode {
    fn parse(mode: Option<&str>) -> Result<Mode> {
        match mode.map(str::trim) {
            None => Ok(Mode::Add),
            Some(m) if m.eq_ignore_ascii_case("add") || m.eq_ignore_ascii_case("import") => Ok(Mode::Add),
            Some(m) if m.eq_ignore_ascii_case("sync") => Ok(Mode::Sync),
            Some(m) => Err(ScimError::invalid_value(format!(
                "mode \"{m}\" is not one scimd knows: use mode=add (the default: create and update the file's \
                 users) or mode=sync&source=NAME (also deactivate the source's users the file no longer lists)"
            ))),
        }
    }
}

/// 404 for a source the tenant has not stored, saying how to store it.
fn unknown_source(caller: &Caller, name: &SourceName) -> ScimError {
    ScimError::new(
        404,
        None,
        format!(
            "the tenant has no import source \"{name}\"; add it with `scimd import-source add {name} --map MAP.json \
             --tenant {}` (`scimd import-source list` shows those it has)",
            caller.principal.tenant_name
        ),
    )
}

impl Service {
    /// Stores the HR source `name` with its column map (the JSON of `--map`, refused unless it
    /// reads as one) and valve, replacing the map and valve of one of that name: true when it
    /// replaced one.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, source = %name))]
    pub async fn add_import_source(
        &self,
        caller: &Caller,
        name: &str,
        map: &[u8],
        max_deactivate: MaxDeactivate,
    ) -> Result<bool> {
        caller.principal.require(Scope::Admin)?;
        let name = SourceName::parse(name)?;
        if map.len() > MAX_MAP_BYTES {
            return Err(ScimError::invalid_value(format!(
                "the column map is {} bytes; a map may hold at most {MAX_MAP_BYTES}",
                map.len()
            )));
        }
        ColumnMap::parse(map)?;
        let column_map = std::str::from_utf8(map)
            .map_err(|_| ScimError::invalid_syntax("the column map is not UTF-8 text"))?
            .to_owned();
        let now = time::OffsetDateTime::now_utc();
        let source = ImportSource {
            name: name.to_string(),
            column_map,
            max_deactivate: max_deactivate.to_string(),
            created: now,
            updated: now,
        };
        Ok(self.store.put_import_source(caller.principal.tenant, &source, &caller.actor()).await?)
    }

    /// The tenant's stored HR sources by name.
    pub async fn import_sources(&self, caller: &Caller) -> Result<Vec<ImportSource>> {
        caller.principal.require(Scope::Admin)?;
        Ok(self.store.import_sources(caller.principal.tenant).await?)
    }

    /// Removes the stored HR source `name`; its users keep their `importSource`, and a source
    /// stored again under that name owns them once more.
    #[tracing::instrument(skip_all, fields(tenant = %caller.principal.tenant, source = %name))]
    pub async fn remove_import_source(&self, caller: &Caller, name: &str) -> Result<()> {
        caller.principal.require(Scope::Admin)?;
        let name = SourceName::parse(name)?;
        match self.store.remove_import_source(caller.principal.tenant, name.as_str(), &caller.actor()).await {
            Err(StoreError::NotFound) => Err(ScimError::new(
                404,
                None,
                format!(
                    "the tenant has no import source \"{name}\"; `scimd import-source list --tenant {}` shows those \
                     it has",
                    caller.principal.tenant_name
                ),
            )),
            other => Ok(other?),
        }
    }

    /// The column map and sync an import over HTTP runs with: none for the bulk-add template,
    /// the stored source's map for `source=NAME`, and a sync of it with `mode=sync`.
    pub(super) async fn stored_source_options(
        &self,
        caller: &Caller,
        params: &SourceParams,
    ) -> Result<(Option<ColumnMap>, Option<SyncOptions>)> {
        let mode = Mode::parse(params.mode.as_deref())?;
        let override_valve = match params.max_deactivate.as_deref() {
            Some(_) if mode != Mode::Sync => {
                return Err(ScimError::invalid_value(
                    "maxDeactivate is the valve of a sync: it takes mode=sync&source=NAME",
                ))
            }
            Some(v) => {
                Some(v.parse::<MaxDeactivate>().map_err(|e| ScimError::invalid_value(format!("maxDeactivate: {e}")))?)
            }
            None => None,
        };
        let name = match (params.source.as_deref(), mode) {
            (Some(name), _) => SourceName::parse(name)?,
            (None, Mode::Add) => return Ok((None, None)),
            (None, Mode::Sync) => {
                return Err(ScimError::invalid_value(
                    "mode=sync needs source=NAME: the stored source whose users the file is the truth for (`scimd \
                     import-source add NAME --map MAP.json` stores one)",
                ))
            }
        };
        let Some((map, stored_valve)) = self.stored_source(caller, &name).await? else {
            return Err(unknown_source(caller, &name));
        };
        let sync = match mode {
            Mode::Add => None,
            Mode::Sync => Some(SyncOptions { source: name, max_deactivate: override_valve.unwrap_or(stored_valve) }),
        };
        Ok((Some(map), sync))
    }

    /// The column map and valve of the stored source `name`; `None` when the tenant has none
    /// of that name.
    pub async fn stored_source(
        &self,
        caller: &Caller,
        name: &SourceName,
    ) -> Result<Option<(ColumnMap, MaxDeactivate)>> {
        caller.principal.require(Scope::Admin)?;
        let stored = match self.store.import_source(caller.principal.tenant, name.as_str()).await {
            Err(StoreError::NotFound) => return Ok(None),
            other => other?,
        };
        // Checked when stored; should a later version read maps more strictly, say what to do.
        let map = ColumnMap::parse(stored.column_map.as_bytes()).map_err(|e| {
            ScimError::new(
                409,
                None,
                format!(
                    "the stored column map of source \"{name}\" no longer reads: {}; store it again with `scimd \
                     import-source add {name} --map MAP.json`",
                    e.detail
                ),
            )
        })?;
        let valve = stored
            .max_deactivate
            .parse::<MaxDeactivate>()
            .map_err(|e| ScimError::internal(StoreError::Corrupt(format!("the valve of source {name:?}: {e}"))))?;
        Ok(Some((map, valve)))
    }
}
