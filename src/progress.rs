//! Progress of a long command on stderr: a bar when stderr is a terminal, otherwise a plain line
//! every 10,000 rows and one at the end, which a log file or a CI transcript can hold.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::service::Progress;

/// Rows between two plain progress lines.
const PLAIN_EVERY: u64 = 10_000;

pub struct Reporter {
    /// What is being done to the rows: "imported", "checked".
    verb: &'static str,
    rows: u64,
    /// On a terminal; `None` prints plain lines instead.
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter for a file of `total_bytes`. The bar measures bytes read, since the number of
    /// rows is known only at the end.
    pub fn new(total_bytes: u64, verb: &'static str) -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total_bytes);
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(format!("{verb} 0 rows"));
            bar
        });
        Reporter { verb, rows: 0, bar }
    }

    pub fn update(&mut self, p: Progress) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(p.bytes);
                bar.set_message(format!("{} {} rows", self.verb, p.rows));
            }
            None if p.rows / PLAIN_EVERY > self.rows / PLAIN_EVERY => {
                let percent = (p.bytes * 100).checked_div(p.total_bytes).unwrap_or(100);
                eprintln!("{} {} rows ({percent}% of the file)", self.verb, p.rows);
            }
            None => {}
        }
        self.rows = p.rows;
    }

    /// Clears the bar of an import that could not run; its error says the rest.
    pub fn abandon(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }

    /// Clears the bar, or prints the last plain line.
    pub fn finish(self) {
        match self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln!("{} {} rows, done", self.verb, self.rows),
        }
    }
}
