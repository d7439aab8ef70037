//! The README, run: every ```sh block, in order, in one bash session, in an empty folder with
//! one fresh store, against the built `scimd` on the PATH, so the README cannot drift from the
//! program.
//!
//! Two things differ from a reader's terminal, and only these:
//! - a line whose command is `cargo …` is not run: this test builds nothing, and the binary
//!   those lines build is the one on the PATH (the front-door tests run it bare, as
//!   `cargo run --release` does);
//! - `127.0.0.1:8080` becomes a free port, given to scimd as `SCIMD_LISTEN`, so that the
//!   replay never collides with a server someone left running.
//!
//! `curl` is the real curl, wrapped to record each answer's status (health polls aside).
//! A curl command whose text carries a comment such as `# 409` must get that status; every
//! other one must get a 2xx. The count must match, so no request goes unchecked.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_scimd");
const README: &str = include_str!("../../README.md");

/// How long the whole README may take to run.
const LIMIT: Duration = Duration::from_secs(120);

/// A fenced ```sh block of the README and the line it starts on.
struct Block {
    line: usize,
    text: String,
}

fn sh_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some(Block { line: i + 1, text: String::new() }),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block");
    blocks
}

/// Whether a line's command is `cargo …`, after any `NAME=value` prefixes.
fn is_cargo(line: &str) -> bool {
    line.split_whitespace().find(|w| !w.contains('=')).is_some_and(|w| w == "cargo")
}

/// Where a curl command starts: at a line's start, or after `$(`, `|`, `&&` or `;`.
fn curl_starts(line: &str) -> usize {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut starts = 0;
    for (i, w) in words.iter().enumerate() {
        let w = w.rsplit("$(").next().unwrap_or(w);
        if w == "curl" && (i == 0 || words[i].contains("$(") || ["|", "&&", ";", "$("].contains(&words[i - 1])) {
            starts += 1;
        }
    }
    starts
}

/// The status each curl command of the README must get, in order: the `# NNN` comment written
/// after it (before the next curl), else any 2xx (`None`).
fn expected_statuses(blocks: &[Block]) -> Vec<Option<u16>> {
    let mut expected: Vec<Option<u16>> = Vec::new();
    for block in blocks {
        let mut open = false;
        for line in block.text.lines() {
            if is_cargo(line) || line.contains("/healthz") || line.contains("/readyz") {
                continue;
            }
            for _ in 0..curl_starts(line) {
                expected.push(None);
                open = true;
            }
            let status = line.split('#').skip(1).find_map(|comment| {
                let digits: String = comment.trim_start().chars().take_while(char::is_ascii_digit).collect();
                (digits.len() == 3).then(|| digits.parse::<u16>().ok()).flatten()
            });
            if let (Some(status), true) = (status, open) {
                if let Some(last) = expected.last_mut() {
                    *last = Some(status);
                }
                open = false;
            }
        }
    }
    expected
}

/// The bash script: the wrapper, then each block with its README line number.
fn script(blocks: &[Block], port: u16) -> String {
    let mut script = String::from(
        r#"set -eu -o pipefail
curl() {
  case "$*" in *"/healthz"*|*"/readyz"*) command curl "$@"; return ;; esac
  local out
  out=$(command curl -w '\n%{http_code}' "$@") || return
  printf '%s\n' "${out%$'\n'*}"
  printf '%s %s\n' "${out##*$'\n'}" "$README_BLOCK" >> "$README_STATUSES"
}
"#,
    );
    for block in blocks {
        script.push_str(&format!("README_BLOCK={}\necho \"== README line {}\" >&2\n", block.line, block.line));
        for line in block.text.lines() {
            if is_cargo(line) {
                script.push_str(&format!(": skipped, it builds: {}\n", line.replace(['`', '$', '(', ')'], " ")));
            } else {
                script.push_str(&line.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}")));
                script.push('\n');
            }
        }
    }
    script
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn every_sh_block_of_the_readme_runs_in_order_against_the_binary() {
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        assert!(found.is_ok_and(|s| s.success()), "the README replay needs {tool} (apt-get install {tool})");
    }
    let blocks = sh_blocks(README);
    assert!(blocks.len() > 10, "the README's command blocks were found");
    let expected = expected_statuses(&blocks);
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("scimd")).unwrap();
    let work = dir.path().join("work");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"), &work.join("examples"));
    let statuses = dir.path().join("statuses");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script_path = dir.path().join("readme.sh");
    std::fs::write(&script_path, script(&blocks, port)).unwrap();

    // Output goes to files: the server the README starts in the background keeps any pipe open.
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut command = Command::new("bash");
    command
        .arg(&script_path)
        .current_dir(&work)
        .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
        .env("README_STATUSES", &statuses)
        .env("SCIMD_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        // Its own process group, so the server the README starts stops with it.
        .process_group(0);
    for name in ["DATABASE_URL", "SCIMD_DATABASE_URL", "SCIMD_BOOTSTRAP_TOKEN", "SCIMD_BASE_URL", "RUST_LOG"] {
        command.env_remove(name);
    }
    let mut child = command.spawn().unwrap();
    let group = format!("-{}", child.id());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("the README took longer than {LIMIT:?}:\n{stderr}\n{stdout}"));
    assert!(status.success(), "the README failed ({status}):\n{stderr}\n--- stdout:\n{stdout}");

    let recorded = std::fs::read_to_string(&statuses).unwrap_or_default();
    let got: Vec<(u16, &str)> = recorded
        .lines()
        .map(|l| {
            let (status, line) = l.split_once(' ').unwrap();
            (status.parse().unwrap(), line)
        })
        .collect();
    assert_eq!(got.len(), expected.len(), "every curl of the README ran once: {got:?}\n{stdout}");
    for ((status, line), want) in got.iter().zip(&expected) {
        match want {
            Some(want) => assert_eq!(status, want, "a curl of the block at README line {line}:\n{stdout}"),
            None => assert!(
                (200..300).contains(status),
                "a curl of the block at README line {line} got {status}:\n{stdout}"
            ),
        }
    }
    println!("{stdout}");
    println!(
        "the README ran in {:.1} s: {} requests, {} blocks",
        started.elapsed().as_secs_f64(),
        got.len(),
        blocks.len()
    );
}

#[test]
fn curl_commands_and_their_expected_statuses_are_found() {
    let blocks = sh_blocks(
        "```sh\nID=$(curl -s $B/Users -d '{\n \"a\": 1}' | jq -r .id)   # 201\ncurl -s $B/x  # 403: no\ncurl -s $B/y\nuntil curl -sf http://127.0.0.1:8080/healthz; do sleep 1; done\ncargo run --release\n```\ntext\n```text\ncurl -s $B/z\n```\n",
    );
    assert_eq!(blocks.len(), 1);
    assert_eq!(expected_statuses(&blocks), vec![Some(201), Some(403), None]);
    assert!(is_cargo("RUSTC_BOOTSTRAP=1 cargo fuzz run filter") && !is_cargo("scimd token list"));
}
