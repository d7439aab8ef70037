//! `scimd import FILE`: the bulk-add CSV through the service, the report to stdout or
//! `--report`, the summary and the progress to stderr.

use std::io::Write;

use anyhow::Context;

use super::{detail, operator, DatabaseArgs, ImportArgs, ImportMode};
use crate::directory::import::{ColumnMap, Status};
use crate::progress;
use crate::scim::error::ScimError;
use crate::service::{ImportOptions, SyncOptions};

/// `scimd import`: the CSV through the service, the report to stdout or `--report`, the
/// summary and the progress to stderr.
pub async fn run(db: &DatabaseArgs, args: ImportArgs) -> anyhow::Result<()> {
    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let map = match &args.map {
        Some(path) => {
            let text = std::fs::read(path).with_context(|| format!("cannot read the map {}", path.display()))?;
            Some(ColumnMap::parse(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.detail))?)
        }
        None => None,
    };
    let mut service = super::service(db).await?;
    if let Some(mailer) = args.mail.mailer()? {
        service = service.with_mailer(mailer);
    }
    // The import acts as the tenant's administrator at the console, never as the sync
    // connector: the users it creates are not marked as mastered on-premises, and synchronized
    // users are refused as for any API client.
    let caller = operator(&service, &args.tenant.tenant).await?;
    // Without --map, a source stored with `scimd import-source add` gives its map and valve.
    let stored = match (&map, &args.source) {
        (None, Some(source)) => service.stored_source(&caller, source).await.map_err(detail)?,
        _ => None,
    };
    if stored.is_some() {
        eprintln!(
            "reading the file through the stored map of source \"{}\"",
            args.source.as_ref().map_or("", |s| s.as_str())
        );
    }
    let (map, stored_valve) = match stored {
        Some((map, valve)) => (Some(map), Some(valve)),
        None => (map, None),
    };
    // The report file is created first, so that a path that cannot be written fails before
    // anything is imported.
    let mut out: Box<dyn Write> = match &args.report {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create the report {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut progress = progress::Reporter::new(data.len() as u64, if args.dry_run { "checked" } else { "imported" });
    let started = std::time::Instant::now();
    let options = ImportOptions {
        dry_run: args.dry_run,
        temporary_passwords: args.temporary_passwords,
        mail_results: args.mail_results.clone(),
        source: args.file.file_name().map(|f| f.to_string_lossy().into_owned()),
        map,
        sync: match (args.mode, &args.source) {
            (ImportMode::Sync, Some(source)) => {
                let max_deactivate = args.max_deactivate.or(stored_valve).unwrap_or_default();
                Some(SyncOptions { source: source.clone(), max_deactivate })
            }
            (ImportMode::Sync, None) => anyhow::bail!("--mode sync needs --source NAME"),
            (ImportMode::Import, _) => None,
        },
    };
    let result = service.import_csv(&caller, &data, &options, &mut |p| progress.update(p)).await;
    let report = match result {
        Ok(report) => {
            progress.finish();
            report
        }
        Err(e) => {
            progress.abandon();
            if let Some(path) = &args.report {
                let _ = std::fs::remove_file(path);
            }
            return Err(import_error(&args.file, e));
        }
    };
    report.write_csv(&mut out).and_then(|()| out.flush()).context("cannot write the report")?;
    eprintln!("{}", report.summary(started.elapsed()));
    if let Some(mail) = &report.mail {
        // A failed mail leaves the import done: exit status 0, and the line says so.
        eprintln!("{}", mail.line());
    }
    if args.mode == ImportMode::Sync && report.count(Status::Refused) > 0 {
        return Err(RowsRefused(report.count(Status::Refused)).into());
    }
    Ok(())
}

/// A sync that refused some rows: the binary exits 3, so a scheduler can tell it from a
/// clean run (0) and from a file refused as a whole (1).
#[derive(Debug)]
pub struct RowsRefused(pub usize);

impl std::fmt::Display for RowsRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rows were refused; the report says why", self.0)
    }
}

impl std::error::Error for RowsRefused {}

/// One line for an import that could not run: the file's problem, or what to do after a
/// database failure.
fn import_error(file: &std::path::Path, e: ScimError) -> anyhow::Error {
    match e.source {
        Some(cause) if e.status >= 500 => anyhow::anyhow!(
            "the import stopped: {cause}; rows imported before it are kept, and importing the file again finishes it"
        ),
        _ => anyhow::anyhow!("{}: {}", file.display(), e.detail),
    }
}
