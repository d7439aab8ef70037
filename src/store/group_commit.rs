//! Group commit: concurrent writes run one after another in one transaction, each under a
//! savepoint of its own, and are committed together, so a flush to disk is paid per batch.
//!
//! A write whose body fails is rolled back to its savepoint alone and gets its own error; every
//! writer is answered only after the commit that holds its write (or with an error when that
//! commit failed): an acknowledged write has reached the disk with `synchronous=FULL`.
//!
//! A batch is a chain of round trips to the connection's thread, and every writer waits for the
//! whole chain, so the committer has a thread of its own and a write's round trips are few: the
//! statements whose results it does not read go in with its savepoint's release
//! (`execute_unread`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::store::backend::{Backend, Conn, Deadline, Param};
use crate::store::sql::Fragment;
use crate::store::sql_store::WriteFuture;
use crate::store::{Result, StoreError};

/// Writes one batch holds at most: a batch's last writer waits for all before it.
const MAX_BATCH: usize = 64;
/// Writes waiting for a batch at most; further writers wait to queue.
const QUEUE: usize = 1024;
/// How long the committer keeps its connection without a write: as long as an idle pooled
/// connection keeps its cache (the server gives those back every 10 s).
pub(crate) const KEEP_IDLE: Duration = Duration::from_secs(10);

/// Tells a writer how its write went, once the batch's commit is known: `None` when it
/// committed, the commit's error otherwise.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// A write as the committer runs it: its body on the batch's connection, then whether it
/// succeeded (else its savepoint is rolled back) and how to answer its writer.
type Job<B> = Box<dyn for<'c> FnOnce(&'c mut Conn<B>) -> Pin<Box<dyn Future<Output = Done> + Send + 'c>> + Send>;

tokio::task_local! {
    /// The statements the running write of a batch left to run with its savepoint's release.
    static WITH_RELEASE: Arc<std::sync::Mutex<Vec<Fragment>>>;
}

/// Leaves a statement whose result the caller does not read (an audit line, index rows) to
/// run with the release of the savepoint of the batch's running write, in the same round trip
/// to the database; false when the caller is not a write of a batch, and should run it itself.
pub(crate) fn with_release(sql: &str, params: &[Param<'_>]) -> bool {
    WITH_RELEASE
        .try_with(|later| {
            let statement = Fragment { sql: sql.to_owned(), binds: params.iter().map(Param::to_bind).collect() };
            later.lock().unwrap_or_else(|e| e.into_inner()).push(statement);
        })
        .is_ok()
}

/// Runs a statement whose result the caller does not read; in a write of a batch, leaves it
/// to run with the write's savepoint's release instead (`with_release`).
pub(crate) async fn execute_unread<B: Backend>(conn: &mut Conn<B>, sql: &str, params: &[Param<'_>]) -> Result<()> {
    if !with_release(sql, params) {
        B::execute(conn, sql, params).await?;
    }
    Ok(())
}

struct Done {
    ok: bool,
    answer: Answer,
}

/// The queue of one database's writes, and the task that commits them in batches.
pub(crate) struct GroupCommit<B: Backend> {
    jobs: mpsc::Sender<Job<B>>,
}

impl<B: Backend> GroupCommit<B> {
    /// Starts the committer. `turn` is what the store's other writers of this process take, so
    /// a batch and those writes never overlap; `budget` is each write's query time budget;
    /// `keep_idle` how long the committer keeps its connection without a write (`KEEP_IDLE`).
    ///
    /// The committer runs on a thread of its own, in a runtime of its own. A batch is a chain
    /// of statements, each a hand-off to the connection's thread and back; as a task among the
    /// requests' tasks it queued behind them after every statement, and every writer waits
    /// for the whole batch. The thread ends when the store is dropped.
    pub(crate) fn start(
        pool: sqlx::Pool<B::Db>,
        turn: Arc<Mutex<()>>,
        budget: Duration,
        keep_idle: Duration,
    ) -> Result<GroupCommit<B>> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(sqlx::Error::Io)?;
        std::thread::Builder::new()
            .name("scimd-commit".into())
            .spawn(move || runtime.block_on(commit_loop::<B>(pool, turn, budget, keep_idle, queue)))
            .map_err(sqlx::Error::Io)?;
        Ok(GroupCommit { jobs })
    }

    /// Runs `body` in the next batch; returns its result once the batch is committed.
    pub(crate) async fn run<T, F>(&self, body: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn<B>) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (send, receive) = oneshot::channel::<Result<T>>();
        let job: Job<B> = Box::new(move |conn| {
            Box::pin(async move {
                let result = body(conn).await;
                let ok = result.is_ok();
                let answer: Answer = Box::new(move |failed: Option<&StoreError>| {
                    let result = match (result, failed) {
                        (Ok(_), Some(e)) => Err(StoreError::NotCommitted(e.to_string())),
                        (result, _) => result,
                    };
                    // The writer may have gone (its client hung up); the write stands.
                    let _ = send.send(result);
                });
                Done { ok, answer }
            })
        });
        let stopped = || StoreError::NotCommitted("the database's writer has stopped".into());
        self.jobs.send(job).await.map_err(|_| stopped())?;
        // A batch that could not start or went wrong midway drops its writes, uncommitted.
        receive.await.map_err(|_| StoreError::NotCommitted("the write's batch was rolled back".into()))?
    }
}

async fn commit_loop<B: Backend>(
    pool: sqlx::Pool<B::Db>,
    turn: Arc<Mutex<()>>,
    budget: Duration,
    keep_idle: Duration,
    mut queue: mpsc::Receiver<Job<B>>,
) {
    // One connection from batch to batch while writes keep coming: SQLite empties a
    // connection's page cache whenever another connection has committed since it last read,
    // so batches run on whichever connection was free each started with a cold cache. On a
    // connection that only the committer writes from, the index pages one batch touched are
    // still cached for the next, also for a client that sends one write at a time. It goes
    // back to the pool after `keep_idle` without a write, where idle connections give their
    // cache back.
    let mut kept: Option<PoolConnection<B::Db>> = None;
    loop {
        let next = match kept {
            Some(_) => match tokio::time::timeout(keep_idle, queue.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    kept = None;
                    queue.recv().await
                }
            },
            None => queue.recv().await,
        };
        let Some(first) = next else { break };
        let mut batch = vec![first];
        let _turn = match turn.try_lock() {
            Ok(turn) => turn,
            Err(_) => {
                // Another writer of the store has its turn and may need a connection for it:
                // the kept one goes back to the pool rather than wait beside it.
                kept = None;
                turn.lock().await
            }
        };
        // Everything that queued meanwhile joins, up to the batch's size.
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let conn = match kept.take() {
            Some(conn) => conn,
            None => match pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => {
                    // The batch's writers get an error as its jobs are dropped.
                    tracing::error!(error = %e, "no connection for a batch of writes; its writers got an error");
                    continue;
                }
            },
        };
        // On a task of its own, so a write that panics loses its batch (rolled back, its
        // writers answered with an error) but not the committer.
        match tokio::spawn(commit_batch::<B>(conn, budget, batch)).await {
            // Kept where the pool has another connection for readers.
            Ok((conn, Ok(()))) if pool.options().get_max_connections() > 1 => kept = Some(conn),
            Ok((_, Ok(()))) => {}
            // The connection goes back to the pool, which rolls back what it left open.
            Ok((_, Err(e))) => {
                tracing::error!(error = %e, "a batch of writes was rolled back; its writers got an error")
            }
            Err(e) => tracing::error!(error = %e, "a batch of writes panicked and was rolled back"),
        }
    }
}

/// Runs a batch in one transaction on `conn` and answers its writers after the commit, then
/// hands the connection back. On an error of the transaction itself the batch's writes are
/// dropped unanswered (their writers get an error) and the transaction is rolled back.
async fn commit_batch<B: Backend>(
    mut conn: PoolConnection<B::Db>,
    budget: Duration,
    batch: Vec<Job<B>>,
) -> (PoolConnection<B::Db>, Result<()>) {
    let done = run_batch::<B>(&mut conn, budget, batch).await;
    (conn, done)
}

/// The statements a write left for its savepoint's release, then the release and the next
/// write's savepoint: one string, which SQLite runs statement by statement.
fn release_after(later: Vec<Fragment>) -> Fragment {
    let mut release = Fragment::default();
    for statement in later {
        release.sql.push_str(&statement.sql);
        release.sql.push_str("; ");
        release.binds.extend(statement.binds);
    }
    release.sql.push_str("RELEASE write; SAVEPOINT write");
    release
}

async fn run_batch<B: Backend>(conn: &mut Conn<B>, budget: Duration, batch: Vec<Job<B>>) -> Result<()> {
    let mut tx = sqlx::Connection::begin_with(conn, B::DIALECT.begin_write()).await?;
    // Each write gets the whole budget; moving the deadline costs no round trip.
    let deadline = Arc::new(Deadline::after(budget));
    B::watch(&mut tx, deadline.clone()).await?;
    let mut answers = Vec::with_capacity(batch.len());
    // Each write runs under the savepoint `write`. One that succeeded is released and the next
    // opened in one round trip, with the statements it left for then (`with_release`): SQLite
    // runs the statements of one string in order. The last one is left open: the commit
    // releases it.
    B::execute(&mut tx, "SAVEPOINT write", &[]).await?;
    for job in batch {
        deadline.restart(budget);
        let later = Arc::default();
        let done = WITH_RELEASE.scope(Arc::clone(&later), job(&mut tx)).await;
        if !done.ok {
            B::execute(&mut tx, "ROLLBACK TO write", &[]).await?;
            answers.push(done.answer);
            continue;
        }
        let later = std::mem::take(&mut *later.lock().unwrap_or_else(|e| e.into_inner()));
        let left = !later.is_empty();
        let release = release_after(later);
        let params: Vec<Param<'_>> = release.binds.iter().map(|b| b.param()).collect();
        match B::execute(&mut tx, &release.sql, &params).await {
            Ok(_) => answers.push(done.answer),
            // A statement left for the release failed, so the savepoint is still open: the
            // write is undone alone, and its writer told so.
            Err(e) if left => {
                B::execute(&mut tx, "ROLLBACK TO write", &[]).await?;
                (done.answer)(Some(&StoreError::from(e)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match tx.commit().await {
        Ok(()) => answers.into_iter().for_each(|answer| answer(None)),
        Err(e) => {
            let e = StoreError::from(e);
            answers.into_iter().for_each(|answer| answer(Some(&e)));
        }
    }
    Ok(())
}
