//! `SmtpReceiver::start()`: a real SMTP server on 127.0.0.1 for the results-mail tests. It
//! speaks what a client needs of RFC 5321 (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT) over TCP and keeps every message it takes, with its envelope and the credentials given.

use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A message as the server took it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The user and password of `AUTH PLAIN`, when the client authenticated.
    pub auth: Option<(String, String)>,
    /// The message as sent after DATA, dot-stuffing undone.
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.data).expect("the message parses")
    }
}

/// The server runs on a runtime of its own: a test that waits for the `scimd` binary blocks its
/// own runtime's only thread, and the server must answer the binary meanwhile.
pub struct SmtpReceiver {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lines one session may send before the server hangs up on it: every loop here is bounded.
const MAX_LINES: usize = 100_000;

impl SmtpReceiver {
    pub async fn start() -> SmtpReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, kept.clone()));
            }
        });
        SmtpReceiver { port, messages, runtime: Some(runtime) }
    }

    /// `--smtp-url` for this server: plain SMTP, as a relay on the same machine.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The messages taken so far. A client hears 250 after DATA only once the message is kept
    /// here, so a mail its sender reported as sent is already in this list.
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}

/// `--smtp-url` of a server that is down: a port that was free a moment ago, nobody listening.
pub async fn smtp_url_nobody_listens_on() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("smtp://127.0.0.1:{port}?tls=none")
}

async fn session(stream: TcpStream, messages: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 127.0.0.1 ESMTP test receiver\r\n").await.is_err() {
        return;
    }
    let (mut from, mut to, mut auth) = (String::new(), Vec::new(), None);
    let mut line = String::new();
    for _ in 0..MAX_LINES {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-127.0.0.1\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned()
        } else if upper.starts_with("HELO") {
            "250 127.0.0.1".to_owned()
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = command.get("AUTH PLAIN".len()..).unwrap_or_default().trim().to_owned();
            let encoded = if initial.is_empty() {
                let _ = write.write_all(b"334 \r\n").await;
                let mut response = String::new();
                let _ = lines.read_line(&mut response).await;
                response.trim().to_owned()
            } else {
                initial
            };
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_default();
            let parts: Vec<String> = decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into()).collect();
            match parts.as_slice() {
                [_, user, password] => {
                    auth = Some((user.clone(), password.clone()));
                    "235 2.7.0 authenticated".to_owned()
                }
                _ => "501 5.5.2 malformed AUTH PLAIN".to_owned(),
            }
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command);
            to.clear();
            "250 2.1.0 ok".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command));
            "250 2.1.5 ok".to_owned()
        } else if upper == "DATA" {
            if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                return;
            }
            let mut data = Vec::new();
            let mut complete = false;
            for _ in 0..MAX_LINES {
                let mut body_line = String::new();
                match lines.read_line(&mut body_line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if body_line == ".\r\n" || body_line == ".\n" {
                    complete = true;
                    break;
                }
                let unstuffed = body_line.strip_prefix('.').unwrap_or(&body_line);
                data.extend_from_slice(unstuffed.as_bytes());
            }
            if !complete {
                return;
            }
            messages.lock().unwrap().push(Received {
                mail_from: from.clone(),
                rcpt_to: to.clone(),
                auth: auth.clone(),
                data,
            });
            "250 2.0.0 queued".to_owned()
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 ok".to_owned()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else {
            "502 5.5.1 command not implemented".to_owned()
        };
        if write.write_all(format!("{answer}\r\n").as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The address between the angle brackets of `MAIL FROM:<a@x> …` or `RCPT TO:<a@x>`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..].find('>').map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}
