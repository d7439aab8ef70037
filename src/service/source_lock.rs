//! The lock that keeps two syncs of one HR source apart: a row of `import_locks` naming the
//! process that holds it, so that a run killed on this machine does not block the next one.
//!
//! Reads the operating system's view of processes (`/proc` on Linux); no other I/O.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::directory::import::SourceName;
use crate::scim::error::{Result, ScimError};
use crate::service::{Caller, Service};
use crate::store::Store;

/// How long a sync's lock lasts past its last chunk: a killed run on another machine blocks
/// the next one at most this long.
pub(super) const LOCK_TTL: time::Duration = time::Duration::minutes(15);

/// A sync's hold on its source. One dropped before `unlock_source` (an HTTP client that went
/// away cancels its request's sync between two chunks) is freed by a task of its own, rather
/// than left to block the source until it expires in a process that still runs.
pub(super) struct SourceLock {
    pub(super) name: String,
    pub(super) holder: String,
    store: Arc<dyn Store>,
    freed: bool,
}

impl Drop for SourceLock {
    fn drop(&mut self) {
        if self.freed {
            return;
        }
        let (store, name, holder) = (self.store.clone(), self.name.clone(), std::mem::take(&mut self.holder));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.unlock(&name, &holder).await {
                    tracing::warn!(error = %e, "the lock of a cancelled sync was not freed; it expires on its own");
                }
            });
        }
    }
}

/// Who holds a lock, as recorded in it (JSON): the run, and the process running it with what
/// tells a process apart on its machine, even after its pid is reused or the machine restarts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    run: String,
    host: String,
    pid: u32,
    /// The kernel's boot id and pid namespace: two processes compare pids only when both are
    /// the same (one machine, one boot, one container's pid space).
    pid_space: Option<String>,
    /// The process's start time in clock ticks since boot, as `/proc/PID/stat` gives it.
    started: Option<u64>,
}

/// What is known of the process a lock names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Running,
    /// It no longer runs on this machine: killed, or its pid now names another process.
    Gone,
    /// It runs elsewhere (or its record is not one this version writes): only the expiry
    /// frees its lock.
    Unknown,
}

impl Holder {
    /// This process, for a new run.
    fn this_process() -> Holder {
        let pid = std::process::id();
        Holder {
            run: uuid::Uuid::new_v4().to_string(),
            host: read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".into()),
            pid,
            pid_space: pid_space(),
            started: start_time(pid),
        }
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.run.clone())
    }

    /// Whether the process that wrote the record still runs, seen from this process.
    fn fate(&self) -> Fate {
        let (Some(theirs), Some(ours), Some(started)) = (&self.pid_space, pid_space(), self.started) else {
            return Fate::Unknown;
        };
        // Another machine, or this one before a restart (whose boot id cannot be told from
        // another machine's): only the expiry frees the lock.
        if theirs != &ours {
            return Fate::Unknown;
        }
        match start_time(self.pid) {
            Some(now) if now == started && !is_zombie(self.pid) => Fate::Running,
            // No such process, a dead one not yet reaped, or another process with its pid.
            _ => Fate::Gone,
        }
    }

    /// `pid 4242 on hr01`, for messages.
    fn describe(&self) -> String {
        format!("pid {} on {}", self.pid, self.host)
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The boot id and the pid namespace of this process, `None` off Linux.
fn pid_space() -> Option<String> {
    let boot = read_trimmed("/proc/sys/kernel/random/boot_id")?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{boot} {}", ns.display()))
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces and parens).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Field 22, `starttime`; the fields after the name start at field 3.
fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(22 - 3)?.parse().ok()
}

/// Field 3, `state`: Z (zombie) or X (dead) is a process that no longer runs.
fn is_zombie(pid: u32) -> bool {
    stat_fields(pid).and_then(|f| f.first().cloned()).is_some_and(|s| s == "Z" || s == "X")
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl Service {
    /// Takes the lock of a sync's source, or says that another run holds it. The lock of a run
    /// whose process is gone from this machine (killed) is taken over at once; any other lasts
    /// until it expires.
    pub(super) async fn lock_source(&self, caller: &Caller, source: &SourceName) -> Result<SourceLock> {
        let mut lock = SourceLock {
            name: format!("import:{}:{source}", caller.principal.tenant),
            holder: Holder::this_process().encode(),
            store: self.store.clone(),
            freed: false,
        };
        if self.extend_lock(&lock).await? {
            return Ok(lock);
        }
        let Some((current, expires)) = self.store.lock_holder(&lock.name).await? else {
            // Freed in between: try once more.
            return match self.extend_lock(&lock).await? {
                true => Ok(lock),
                false => {
                    lock.freed = true;
                    Err(held(source, None, None))
                }
            };
        };
        let holder: Option<Holder> = serde_json::from_str(&current).ok();
        if let Some(h) = holder.as_ref().filter(|h| h.fate() == Fate::Gone) {
            let until = millis(OffsetDateTime::now_utc() + LOCK_TTL);
            if self.store.take_over_lock(&lock.name, &current, &lock.holder, until).await? {
                tracing::warn!(source = %source, previous = %h.describe(), "took over the lock of a sync that no longer runs");
                return Ok(lock);
            }
        }
        // Never held: nothing to free.
        lock.freed = true;
        let expires = OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires) * 1_000_000).ok();
        Err(held(source, holder.as_ref(), expires))
    }

    /// Takes or extends the lock for another `LOCK_TTL`.
    pub(super) async fn extend_lock(&self, lock: &SourceLock) -> Result<bool> {
        let now = OffsetDateTime::now_utc();
        Ok(self.store.try_lock(&lock.name, &lock.holder, millis(now), millis(now + LOCK_TTL)).await?)
    }

    /// Frees the lock; one that cannot be freed expires on its own.
    pub(super) async fn unlock_source(&self, mut lock: SourceLock) {
        if let Err(e) = self.store.unlock(&lock.name, &lock.holder).await {
            tracing::warn!(error = %e, "the sync's lock was not freed");
        }
        lock.freed = true;
    }
}

/// 409: another run of the source holds its lock.
fn held(source: &SourceName, holder: Option<&Holder>, expires: Option<OffsetDateTime>) -> ScimError {
    let who = holder.map(|h| format!(" ({})", h.describe())).unwrap_or_default();
    let until = match expires {
        Some(t) => format!(
            "; if that run was killed on another machine, its lock expires at {}",
            crate::scim::resource::format_datetime(t)
        ),
        None => String::new(),
    };
    ScimError::new(
        409,
        None,
        format!(
            "another sync of source \"{source}\" is running{who}; wait for it to finish{until} (a run killed on the \
             machine it ran on is taken over at once; otherwise the lock expires {} minutes after its last chunk)",
            LOCK_TTL.whole_minutes()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_running_and_a_record_of_a_dead_pid_is_gone() {
        let me = Holder::this_process();
        let decoded: Holder = serde_json::from_str(&me.encode()).unwrap();
        assert_eq!(decoded, me);
        if me.pid_space.is_none() {
            // Not Linux: nothing can be told, and nothing is taken over.
            assert_eq!(me.fate(), Fate::Unknown);
            return;
        }
        assert_eq!(me.fate(), Fate::Running);
        let reused = Holder { started: me.started.map(|s| s + 1), ..me.clone() };
        assert_eq!(reused.fate(), Fate::Gone, "the pid now names another process");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let record = Holder { pid, started: start_time(pid).or(Some(0)), ..me.clone() };
        child.wait().unwrap();
        assert_eq!(record.fate(), Fate::Gone, "the process ended");
        let elsewhere =
            Holder { pid_space: Some("another-boot pid:[1]".into()), host: "elsewhere".into(), ..me.clone() };
        assert_eq!(elsewhere.fate(), Fate::Unknown);
        let unknown = Holder { pid_space: None, ..me };
        assert_eq!(unknown.fate(), Fate::Unknown);
    }
}
