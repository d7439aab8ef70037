//! The Licenses page: each License of the tenant with its seats total, consumed and available,
//! as the service counts them for `/Licenses`.
//!
//! Read-only: seats are changed with `scimd license set-seats` or over SCIM.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::http::console::chrome;
use crate::http::console::form;
use crate::http::console::layout::{self, error_page};
use crate::http::console::session::Admin;
use crate::http::AppState;

pub async fn list(State(s): State<AppState>, admin: Admin) -> Response {
    let t = admin.lang;
    let licenses = match form::licenses(&s, &admin.caller).await {
        Ok(l) => l,
        Err(e) => return error_page(admin.lang, &e),
    };
    let body = html! {
        @if licenses.is_empty() {
            p { (t.t("This tenant has no licenses. Add one with ")) code { "scimd license add" } (t.t(" or a POST to /scim/v2/Licenses.")) }
        } @else {
            table {
                thead { tr { th { (t.t("License")) } th { (t.t("Part number")) } th { (t.t("Seats")) } th { (t.t("Assigned")) } th { (t.t("Available")) } } }
                tbody {
                    @for l in &licenses {
                        tr {
                            td { (l.name) }
                            td { (l.part_number) }
                            td { (l.seats) }
                            td { (l.consumed) }
                            td { (l.available) }
                        }
                    }
                }
            }
        }
    };
    layout::page("Licenses", &chrome(&admin, "/admin/licenses"), body).into_response()
}
