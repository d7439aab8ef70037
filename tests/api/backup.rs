//! `scimd backup` copies a live SQLite database while clients write to it, and the copy serves
//! every resource as it was; a PostgreSQL database is refused with the way to back it up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{behaviour, id, Process, BIN, USER};

/// Creates the writer sends at most; it stops sooner once the backup is done.
const WRITES: usize = 3000;

/// Every resource of `kind` a server holds, by id, with the server's own URL (in `location`
/// and `$ref`) replaced by `BASE`.
async fn everything(app: &crate::helpers::TestApp, base: &str, kind: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut start = 1;
    loop {
        let page: Value = app
            .client
            .get(format!("{base}/{kind}?startIndex={start}&count=500&sortBy=id"))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["Resources"].as_array().cloned().unwrap_or_default();
        for item in &items {
            let item: Value = serde_json::from_str(&item.to_string().replace(base, "BASE")).unwrap();
            out.push((id(&item).to_owned(), item));
        }
        start += items.len();
        if items.is_empty() || start > page["totalResults"].as_u64().unwrap() as usize {
            return out;
        }
    }
}

/// Runs `scimd backup FILE` on the app's database: its exit status, stdout and stderr.
async fn backup(database: String, file: std::path::PathBuf) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out =
            std::process::Command::new(BIN).args(["backup", "--database", &database]).arg(&file).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

behaviour! {
    async fn a_backup_taken_under_writes_restores_every_resource_as_it_was(app: TestApp) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copy.db");
        if !app.database_url().starts_with("sqlite:") {
            let (ok, _, stderr) = backup(app.database_url(), file.clone()).await;
            assert!(!ok, "a PostgreSQL backup is refused");
            assert!(stderr.contains("pg_dump"), "the refusal says how: {stderr}");
            assert!(!file.exists());
            return;
        }
        let live = Process::start(&app).await;
        app.seed_users("before", 40).await;
        let group = app.create_group("Everyone before", &[]).await;
        let members: Vec<Value> = everything(&app, &live.base, "Users")
            .await
            .iter()
            .map(|(uid, _)| json!({"value": uid}))
            .collect();
        let res = app
            .patch(
                &format!("/Groups/{}", id(&group)),
                json!({"schemas": [crate::helpers::PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]}),
            )
            .await;
        assert!(res.status().is_success(), "{}", res.status());

        // A client creates users, one after another, all through the backup.
        let done = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let writer = {
            let (client, base, token) = (app.client.clone(), live.base.clone(), app.token.clone());
            let (done, acked) = (done.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0..WRITES {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({"schemas": [USER], "userName": format!("during{i}@contoso.com")});
                    let res = client.post(format!("{base}/Users")).bearer_auth(&token).json(&body).send().await.unwrap();
                    assert_eq!(res.status(), 201);
                    let user: Value = res.json().await.unwrap();
                    acked.lock().unwrap().push(id(&user).to_owned());
                }
            })
        };
        for _ in 0..500 {
            if acked.lock().unwrap().len() >= 20 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let before_backup = acked.lock().unwrap().clone();
        assert!(before_backup.len() >= 20, "writes were flowing when the backup started");
        let (ok, stdout, stderr) = backup(app.database_url(), file.clone()).await;
        assert!(ok, "backup failed: {stderr}");
        assert!(stdout.contains("backed up to"), "{stdout}");
        let during = acked.lock().unwrap().len() - before_backup.len();
        done.store(true, Ordering::Relaxed);
        writer.await.unwrap();
        assert!(during > 0, "writes went on while the backup ran");

        // A second backup to the same file is refused and leaves the first whole.
        let (ok, _, stderr) = backup(app.database_url(), file.clone()).await;
        assert!(!ok && stderr.contains("already exists"), "{stderr}");

        let restored = Process::start_on(&app, &format!("sqlite://{}", file.display())).await;
        let copied_users = everything(&app, &restored.base, "Users").await;
        let original_users: std::collections::HashMap<_, _> =
            everything(&app, &live.base, "Users").await.into_iter().collect();
        // Everything acknowledged before the copy started is in it, and everything in it is
        // exactly what the live server holds (users are only created, never changed, meanwhile).
        for uid in &before_backup {
            assert!(copied_users.iter().any(|(c, _)| c == uid), "user {uid} created before the backup is missing");
        }
        assert!(copied_users.len() >= 40 + 1 + before_backup.len());
        for (uid, user) in &copied_users {
            assert_eq!(Some(user), original_users.get(uid), "user {uid} differs in the copy");
        }
        assert_eq!(everything(&app, &restored.base, "Groups").await, everything(&app, &live.base, "Groups").await);
    }
}
