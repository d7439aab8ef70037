//! Acknowledged writes survive a SIGKILL of the real binary: creates and PATCHes from many
//! clients at once (on SQLite, committed together in shared batches) are all there after a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{behaviour, id, Process, PATCH_OP, USER};

/// Concurrent clients: enough that writes queue behind each other and share commits.
const WRITERS: usize = 16;
/// Writes each client sends at most before the kill stops it.
const WRITES: usize = 200;

/// What one client was told succeeded: the users it created, and for its own user the last
/// title a PATCH set.
#[derive(Default)]
struct Acknowledged {
    created: Vec<String>,
    last_title: Option<usize>,
}

behaviour! {
    async fn a_sigkill_under_concurrent_writes_loses_no_acknowledged_write(app: TestApp) {
        let first = Process::start(&app).await;
        // Each client PATCHes a user of its own, with titles counting up.
        let mut own = Vec::new();
        for w in 0..WRITERS {
            own.push(id(&app.create_user(&format!("own{w}@contoso.com")).await).to_owned());
        }
        let total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let acks: Vec<Arc<Mutex<Acknowledged>>> = (0..WRITERS).map(|_| Arc::default()).collect();
        let clients: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (client, base, token) = (app.client.clone(), first.base.clone(), app.token.clone());
                let (ack, uid, total) = (acks[w].clone(), own[w].clone(), total.clone());
                tokio::spawn(async move {
                    for i in 0..WRITES {
                        let sent = if i % 2 == 0 {
                            let body = json!({"schemas": [USER], "userName": format!("c{w}-{i}@contoso.com")});
                            client.post(format!("{base}/Users")).bearer_auth(&token).json(&body).send().await
                        } else {
                            let body = json!({"schemas": [PATCH_OP],
                                "Operations": [{"op": "replace", "path": "title", "value": i.to_string()}]});
                            client.patch(format!("{base}/Users/{uid}")).bearer_auth(&token).json(&body).send().await
                        };
                        let Ok(res) = sent else { break };
                        match res.status().as_u16() {
                            201 => {
                                let Ok(user) = res.json::<Value>().await else { break };
                                ack.lock().unwrap().created.push(id(&user).to_owned());
                            }
                            200 => ack.lock().unwrap().last_title = Some(i),
                            _ => break,
                        }
                        total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        // Killed mid-load: once writes are flowing, with more in flight.
        for _ in 0..1000 {
            if total.load(std::sync::atomic::Ordering::Relaxed) >= 300 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        first.kill();
        for client in clients {
            client.await.unwrap();
        }
        let acknowledged = total.load(std::sync::atomic::Ordering::Relaxed);
        assert!(acknowledged >= 300, "the load ran before the kill ({acknowledged} writes)");
        assert!(acknowledged < WRITERS * WRITES, "the kill came before the load ended");

        let second = Process::start(&app).await;
        let get = |path: String| app.client.get(format!("{}{path}", second.base)).bearer_auth(&app.token).send();
        for (w, ack) in acks.iter().enumerate() {
            let ack = std::mem::take(&mut *ack.lock().unwrap());
            for uid in &ack.created {
                assert_eq!(get(format!("/Users/{uid}")).await.unwrap().status(), 200, "acknowledged create {uid} lost");
            }
            let user: Value = get(format!("/Users/{}", own[w])).await.unwrap().json().await.unwrap();
            let title: Option<usize> = user["title"].as_str().map(|t| t.parse().unwrap());
            // The last acknowledged PATCH stands, or one sent after it that committed unanswered.
            assert!(title >= ack.last_title, "client {w}: acknowledged title {:?}, found {title:?}", ack.last_title);
        }
    }
}
