//! The OpenAPI 3.1 document. Paths are collected from the handlers themselves
//! (utoipa-actix-web registers a handler and its documentation in one call), so a route
//! cannot be served without being described; `tests/api/openapi.rs` checks the rest.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cloudseat",
        description = "Customer-service seat marketplace and workforce manager. Errors are \
            `application/problem+json` with a stable `code`; lists take `limit` and `cursor`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, sign-in and sessions"),
        (name = "accounts", description = "The signed-in account"),
        (name = "merchants", description = "Shops and their staff"),
        (name = "seats", description = "Seat rules, staffing estimates, quotes and bookings"),
        (name = "agents", description = "Agent profiles and the agent lifecycle"),
        (name = "exams", description = "Taking exams"),
        (name = "shifts", description = "The job board, claiming and attending shifts, the swap board"),
        (name = "briefing", description = "The shop's briefing and quick replies for the agents on its seats"),
        (name = "quality", description = "Chat reviews on scorecards, quality scores, disputes"),
        (name = "merchant_api", description = "A shop's widget key, secret API keys and signed webhooks"),
        (name = "payroll", description = "Payroll runs, payslips and pay disputes"),
        (name = "admin", description = "Platform administration"),
        (name = "analytics", description = "Operations analytics (admins): agent churn and retention, at-risk agents and follow-ups, agents' activity timelines"),
        (name = "operations", description = "Health and metrics"),
        (name = "pages", description = "Server-rendered HTML pages"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // A shop's secret API key (`sk_...`), for the calls a shop's back end makes.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sk_...")
                    .build(),
            ),
        );
    }
}
