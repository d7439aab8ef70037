//! The HTTP behaviour suite: every test starts scimd on a real listener over a fresh
//! SQLite file, exactly as `scimd serve` builds it, and talks to it with an HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// A failing test should panic with its message.

mod audit;
mod auth;
mod backup;
mod browser;
mod bulk;
mod cli;
mod concurrency;
mod console;
mod console_sessions;
mod deleted;
mod deploy;
mod directory;
mod discovery;
mod durability;
mod edges;
mod errors;
mod etag;
mod events;
mod filter_agreement;
mod filters;
mod front_door;
mod groups;
mod helpers;
mod hr_sources;
mod hr_sync;
mod import;
mod licenses;
mod limits;
mod mail;
mod metrics;
mod openapi;
mod patch;
mod readme;
mod smtp;
mod store;
mod tls;
mod totals;

mod users;
