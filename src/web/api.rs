//! Helpers every JSON endpoint uses: a JSON body extractor that turns every way a body
//! can be wrong into a problem response naming the field, and keyset pagination.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A JSON request body: `application/json`, at most `max_body_bytes`, parsed strictly
/// (request types deny unknown fields), every failure a problem response.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.max_body_bytes)
            .unwrap_or(64 * 1024);
        let read = read_json(req, payload.take(), limit);
        Box::pin(async move { read.await.map(ApiJson) })
    }
}

/// Parses a JSON body exactly as [`ApiJson`] does, with a size limit of its own: for the few
/// documents that are legitimately larger than `max_body_bytes` (a shop's briefing).
pub fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> LocalBoxFuture<'static, Result<T, AppError>> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    let body = read_body(req, payload, limit);
    Box::pin(async move {
        if !is_json {
            return Err(AppError::UnsupportedMediaType);
        }
        parse_json(&body.await?)
    })
}

/// Reads a whole request body of at most `limit` bytes (413 beyond), whatever its type.
pub fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
) -> LocalBoxFuture<'static, Result<web::BytesMut, AppError>> {
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    Box::pin(async move {
        if declared_len.is_some_and(|len| len > limit) {
            return Err(AppError::PayloadTooLarge { limit });
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| AppError::MalformedJson(format!("cannot read the body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(AppError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
}

/// A JSON body that may be left out entirely (then `T::default()`); a body that is there
/// is parsed as strictly as [`ApiJson`]. (`Option<ApiJson<T>>` would silently treat a
/// malformed body as missing.)
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
            || (req.headers().get(header::CONTENT_LENGTH).is_none()
                && req.headers().get(header::TRANSFER_ENCODING).is_none());
        if empty {
            return Box::pin(async { Ok(OptionalJson(T::default())) });
        }
        let inner = ApiJson::<T>::from_request(req, payload);
        Box::pin(async move { inner.await.map(|j| OptionalJson(j.0)) })
    }
}

/// Parses a JSON document, naming the offending field on a type or value error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            return Err(classify(&path, &inner));
        }
    };
    de.end()
        .map_err(|e| AppError::MalformedJson(e.to_string()))?;
    Ok(value)
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    rest.split('`').next().map(str::to_owned)
}

fn classify(path: &str, err: &serde_json::Error) -> AppError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => AppError::MalformedJson(err.to_string()),
        Category::Data => {
            let message = err.to_string();
            let (field, code) = if let Some(f) = backticked(&message, "unknown field ") {
                (join_path(path, &f), "unknown_field")
            } else if let Some(f) = backticked(&message, "missing field ") {
                (join_path(path, &f), "required")
            } else if message.starts_with("invalid type") {
                (path.to_owned(), "invalid_type")
            } else {
                (path.to_owned(), "invalid_value")
            };
            let field = if field == "." || field.is_empty() {
                "body".to_owned()
            } else {
                field
            };
            AppError::Validation(vec![FieldError::new(field, code, message)])
        }
    }
}

fn join_path(path: &str, field: &str) -> String {
    if path == "." || path.is_empty() {
        field.to_owned()
    } else if path.ends_with(field) {
        path.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `?limit=&cursor=` on every list. `limit` is 1 to 100 (default 20); `cursor` is the
/// opaque `next_cursor` of the previous page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub const MAX_LIMIT: i64 = 100;

    /// The validated limit and the decoded cursor (an id to continue after).
    pub fn parse(&self) -> Result<(i64, Option<String>), AppError> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(AppError::field(
                "limit",
                "out_of_range",
                format!("limit must be between 1 and {}", Self::MAX_LIMIT),
            ));
        }
        let cursor = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                URL_SAFE_NO_PAD
                    .decode(raw)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .filter(|id| uuid::Uuid::parse_str(id).is_ok())
                    .ok_or_else(|| {
                        AppError::field(
                            "cursor",
                            "invalid_cursor",
                            "this cursor is not one we issued",
                        )
                    })?,
            ),
        };
        Ok((limit, cursor))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// Builds a page from up to `limit + 1` rows (the extra row only proves there is more).
    pub fn from_rows<R>(
        rows: Vec<R>,
        limit: i64,
        id: impl Fn(&R) -> String,
        map: impl Fn(R) -> T,
    ) -> Self {
        let (rows, next_cursor) = page_rows(rows, limit, id);
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

/// Up to `limit` of `limit + 1` rows and the cursor of the next page, if the extra row
/// proves there is one (pages use it for their "more" links).
pub fn page_rows<R>(
    mut rows: Vec<R>,
    limit: i64,
    id: impl Fn(&R) -> String,
) -> (Vec<R>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| URL_SAFE_NO_PAD.encode(id(r)))
    } else {
        None
    };
    (rows, next_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        seats: u32,
    }

    fn fields(err: AppError) -> Vec<(String, String)> {
        match err {
            AppError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn names_the_offending_field() {
        let err = parse_json::<Body>(br#"{"email": "a@b.c", "seats": "many"}"#).unwrap_err();
        assert_eq!(
            fields(err),
            [("seats".to_owned(), "invalid_type".to_owned())]
        );
        let err = parse_json::<Body>(br#"{"email": "a@b.c", "seats": 1, "extra": 1}"#).unwrap_err();
        assert_eq!(
            fields(err),
            [("extra".to_owned(), "unknown_field".to_owned())]
        );
        let err = parse_json::<Body>(br#"{"seats": 1}"#).unwrap_err();
        assert_eq!(fields(err), [("email".to_owned(), "required".to_owned())]);
        let err = parse_json::<Body>(br#"{"email": "a@b.c", "seats": 1.5}"#).unwrap_err();
        assert_eq!(fields(err)[0].0, "seats");
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert!(matches!(
            parse_json::<Body>(b"{\"email\": "),
            Err(AppError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"not json"),
            Err(AppError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"email": "a@b.c", "seats": 1} trailing"#),
            Err(AppError::MalformedJson(_))
        ));
    }

    #[test]
    fn pages_carry_a_cursor_only_when_more_exist() {
        let ids: Vec<String> = (0..3).map(|_| crate::db::new_id()).collect();
        let page: Page<String> = Page::from_rows(ids.clone(), 2, |r| r.clone(), |r| r);
        assert_eq!(page.items.len(), 2);
        let cursor = page.next_cursor.unwrap();
        let q = PageQuery {
            limit: Some(2),
            cursor: Some(cursor),
        };
        assert_eq!(q.parse().unwrap().1.unwrap(), ids[1]);
        let last: Page<String> = Page::from_rows(ids, 5, |r| r.clone(), |r| r);
        assert!(last.next_cursor.is_none());
        assert!(
            PageQuery {
                limit: Some(0),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            PageQuery {
                limit: Some(101),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            PageQuery {
                limit: None,
                cursor: Some("garbage".into())
            }
            .parse()
            .is_err()
        );
    }
}
