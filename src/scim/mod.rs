//! The SCIM protocol with no I/O: schema registry, resource validation, the filter language,
//! the PATCH engine, attribute projection and the error type.
//!
//! Must not import sqlx, axum, tokio or anything else that does I/O; `store` and `http` use it.

pub mod cursor;
pub mod error;
pub mod events;
pub mod filter;
pub mod openapi;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod text;
