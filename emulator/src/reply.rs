//! The answer a handler produces, before it becomes an HTTP response, and constructors for
//! Discord's error bodies.

use serde_json::{json, Value};

use crate::validate::{self, FieldError};

/// A response body.
#[derive(Debug, Clone)]
pub enum Body {
    /// No body (204).
    Empty,
    /// A JSON body, served as `application/json`.
    Json(Value),
    /// Raw bytes with their content type (HTML bans, truncated JSON).
    Raw {
        /// The `Content-Type` header value.
        content_type: Box<str>,
        /// The body, sent as is.
        bytes: Vec<u8>,
    },
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body; it sets `Content-Type`.
    pub body: Body,
    /// Extra headers (rate-limit ones, `Retry-After`), in order.
    pub headers: Vec<(String, String)>,
    /// Spec schema (JSON pointer) the body must match; checked before sending.
    pub schema: Option<String>,
    /// No `X-RateLimit-*` headers (a Cloudflare ban, the control API).
    pub no_rate_limit_headers: bool,
}

impl Reply {
    /// A JSON answer that is not checked against the spec.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
            schema: None,
            no_rate_limit_headers: false,
        }
    }

    /// 200 with a body that must match `schema`.
    pub fn ok(body: Value, schema: String) -> Reply {
        Reply {
            schema: Some(schema),
            ..Reply::json(200, body)
        }
    }

    /// 201 Created with a body that must match `schema`.
    pub fn created(body: Value, schema: String) -> Reply {
        Reply {
            schema: Some(schema),
            ..Reply::json(201, body)
        }
    }

    /// 204 No Content.
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: Body::Empty,
            headers: Vec::new(),
            schema: None,
            no_rate_limit_headers: false,
        }
    }

    /// A Discord error: `{"code", "message"}`.
    pub fn error(status: u16, code: u32, message: &str) -> Reply {
        Reply {
            schema: Some(validate::ERROR.to_string()),
            ..Reply::json(status, json!({ "code": code, "message": message }))
        }
    }

    /// 400 Invalid Form Body (50035) with Discord's nested `errors`.
    pub fn invalid_form(errors: &[FieldError]) -> Reply {
        Reply {
            schema: Some(validate::ERROR.to_string()),
            ..Reply::json(
                400,
                json!({
                    "code": 50035,
                    "message": "Invalid Form Body",
                    "errors": validate::errors_tree(errors),
                }),
            )
        }
    }

    /// 404 for routes that do not exist.
    pub fn not_found() -> Reply {
        Reply::error(404, 0, "404: Not Found")
    }

    /// 400 50035 for a path or query value that is not a snowflake.
    pub fn not_snowflake(field: &str, value: &str) -> Reply {
        Reply::invalid_form(&[FieldError {
            path: vec![field.to_string()],
            code: "NUMBER_TYPE_COERCE".into(),
            message: format!("Value \"{value}\" is not snowflake."),
        }])
    }
}
