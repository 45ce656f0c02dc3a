//! API Gateway proxy events as the function reads them: REST (v1, as
//! deployed) or HTTP API (v2, as `cargo lambda watch` and function URLs
//! send), read in one pass over the event's JSON straight into what the
//! handler takes ([`Request`]).
//!
//! lambda_http's event types (aws_lambda_events) were the largest share of
//! the boundary's cost (docs/performance.md): every header value went
//! through an untagged enum (serde buffers each value to try its variants),
//! both header maps were built whole and then merged, every query map was a
//! `HashMap` of `Vec`s, and the request context (identity, authorizer, ...)
//! was read into structs nobody used. Here keys are matched without
//! copying, headers go into one `HeaderMap`, and what the handler does not
//! read is skipped (`IgnoredAny`). What is accepted, and how it reads, is
//! lambda_http's (tests/events.rs checks every fixture against it):
//! - REST v1 when the event has `httpMethod`, else HTTP API v2 when it has
//!   `requestContext.http.method`; anything else is not an event;
//! - a method `""` is GET; a header that is not a valid name or value makes
//!   the event invalid; `null` stands for an absent map;
//! - REST: `multiValueHeaders`, overridden per name by `headers`;
//!   `multiValueQueryStringParameters` when not empty, else
//!   `queryStringParameters`;
//! - HTTP API: `cookies` as one Cookie header; the query from
//!   `rawQueryString` (repeated names kept), else `queryStringParameters`
//!   with comma-joined values split.

use crate::app::Request;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// An API Gateway proxy event, read: the request, and its body as sent
/// (base64 or not), which [`crate::lambda`] decodes.
#[derive(Debug)]
pub enum Event {
    Rest(Box<ProxyEvent>),
    Http(Box<ProxyEvent>),
}

/// What the handler takes from an event.
#[derive(Debug)]
pub struct ProxyEvent {
    /// Everything but the body.
    pub request: Request,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

impl Event {
    pub fn into_parts(self) -> ProxyEvent {
        match self {
            Self::Rest(event) | Self::Http(event) => *event,
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

/// The fields of both formats, as read.
#[derive(Default)]
struct Fields {
    http_method: Option<Method>,
    path: Option<String>,
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    cookies: Option<Vec<String>>,
    headers: HeaderMap,
    /// Names `headers` set, which `multiValueHeaders` must not override.
    single_names: Vec<HeaderName>,
    query: Vec<QueryValue>,
    multi_query: Vec<QueryValue>,
    path_parameters: HashMap<String, String>,
    context: Context,
    body: Option<String>,
    is_base64_encoded: bool,
}

/// One name and value of a query map; `single` when the map gave a string
/// (HTTP API joins repeated names into one with commas).
struct QueryValue {
    name: String,
    value: String,
    single: bool,
}

#[derive(Default)]
struct Context {
    request_id: Option<String>,
    http_method: Option<Method>,
}

const NOT_AN_EVENT: &str = "expected an Amazon API Gateway proxy event (REST v1 or HTTP API v2)";

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NOT_AN_EVENT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::HttpMethod => fields.http_method = Some(map.next_value::<MethodOf>()?.0),
                Key::Path => fields.path = map.next_value()?,
                Key::RawPath => fields.raw_path = map.next_value()?,
                Key::RawQueryString => fields.raw_query_string = map.next_value()?,
                Key::Cookies => fields.cookies = map.next_value()?,
                Key::Headers => map.next_value_seed(HeadersSeed {
                    fields: &mut fields,
                    multi: false,
                })?,
                Key::MultiValueHeaders => map.next_value_seed(HeadersSeed {
                    fields: &mut fields,
                    multi: true,
                })?,
                Key::QueryStringParameters => {
                    map.next_value_seed(QuerySeed(&mut fields.query))?
                }
                Key::MultiValueQueryStringParameters => {
                    map.next_value_seed(QuerySeed(&mut fields.multi_query))?
                }
                Key::PathParameters => {
                    fields.path_parameters = map
                        .next_value::<Option<HashMap<String, String>>>()?
                        .unwrap_or_default()
                }
                Key::RequestContext => fields.context = map.next_value::<ContextOf>()?.0,
                Key::Body => fields.body = map.next_value()?,
                Key::IsBase64Encoded => {
                    fields.is_base64_encoded = map.next_value::<Option<bool>>()?.unwrap_or(false)
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        fields.into_event().ok_or_else(|| de::Error::custom(NOT_AN_EVENT))
    }
}

impl Fields {
    fn into_event(self) -> Option<Event> {
        let request_id = self.context.request_id.unwrap_or_default();
        if let Some(method) = self.http_method {
            // lambda_http requires the REST request context (and its method).
            self.context.http_method.as_ref()?;
            let query = if self.multi_query.is_empty() {
                self.query
            } else {
                self.multi_query
            };
            let request = Request {
                method,
                headers: self.headers,
                path_parameters: self.path_parameters,
                raw_path: self.path.unwrap_or_default(),
                query: query.into_iter().map(|q| (q.name, q.value)).collect(),
                body: Default::default(),
                request_id,
            };
            return Some(Event::Rest(Box::new(ProxyEvent {
                request,
                body: self.body,
                is_base64_encoded: self.is_base64_encoded,
            })));
        }
        let method = self.context.http_method?;
        let mut headers = self.headers;
        if let Some(cookies) = self.cookies
            && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
        {
            headers.insert(http::header::COOKIE, value);
        }
        let query = match &self.raw_query_string {
            Some(raw) => url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
            None => self
                .query
                .into_iter()
                .flat_map(|q| {
                    let values: Vec<String> = if q.single {
                        q.value.split(',').map(String::from).collect()
                    } else {
                        vec![q.value]
                    };
                    values.into_iter().map(move |v| (q.name.clone(), v))
                })
                .collect(),
        };
        let request = Request {
            method,
            headers,
            path_parameters: self.path_parameters,
            raw_path: self.raw_path.or(self.path).unwrap_or_default(),
            query,
            body: Default::default(),
            request_id,
        };
        Some(Event::Http(Box::new(ProxyEvent {
            request,
            body: self.body,
            is_base64_encoded: self.is_base64_encoded,
        })))
    }
}

/// The top-level names read; the rest are skipped.
enum Key {
    HttpMethod,
    Path,
    RawPath,
    RawQueryString,
    Cookies,
    Headers,
    MultiValueHeaders,
    QueryStringParameters,
    MultiValueQueryStringParameters,
    PathParameters,
    RequestContext,
    Body,
    IsBase64Encoded,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "httpMethod" => Key::HttpMethod,
                    "path" => Key::Path,
                    "rawPath" => Key::RawPath,
                    "rawQueryString" => Key::RawQueryString,
                    "cookies" => Key::Cookies,
                    "headers" => Key::Headers,
                    "multiValueHeaders" => Key::MultiValueHeaders,
                    "queryStringParameters" => Key::QueryStringParameters,
                    "multiValueQueryStringParameters" => Key::MultiValueQueryStringParameters,
                    "pathParameters" => Key::PathParameters,
                    "requestContext" => Key::RequestContext,
                    "body" => Key::Body,
                    "isBase64Encoded" => Key::IsBase64Encoded,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// An HTTP method as API Gateway writes it; `""` is GET (lambda_http's rule).
struct MethodOf(Method);

impl<'de> Deserialize<'de> for MethodOf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?.0;
        if text.is_empty() {
            return Ok(Self(Method::GET));
        }
        Method::from_bytes(text.as_bytes())
            .map(Self)
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &"an HTTP method"))
    }
}

/// `requestContext`: its `requestId`, and the method (REST: `httpMethod`,
/// HTTP API: `http.method`).
struct ContextOf(Context);

impl<'de> Deserialize<'de> for ContextOf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContextVisitor;
        impl<'de> Visitor<'de> for ContextVisitor {
            type Value = ContextOf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a request context")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContextOf, A::Error> {
                let mut context = Context::default();
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        "requestId" => context.request_id = map.next_value()?,
                        "httpMethod" => {
                            context.http_method = Some(map.next_value::<MethodOf>()?.0)
                        }
                        "http" => {
                            if let Some(http) = map.next_value::<Option<HttpOf>>()? {
                                context.http_method = Some(http.method);
                            }
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(ContextOf(context))
            }
        }
        deserializer.deserialize_map(ContextVisitor)
    }
}

/// `requestContext.http` of an HTTP API event: its method is required.
struct HttpOf {
    method: Method,
}

impl<'de> Deserialize<'de> for HttpOf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HttpVisitor;
        impl<'de> Visitor<'de> for HttpVisitor {
            type Value = HttpOf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("requestContext.http")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HttpOf, A::Error> {
                let mut method = None;
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    if key.0 == "method" {
                        method = Some(map.next_value::<MethodOf>()?.0);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                let method = method.ok_or_else(|| de::Error::missing_field("method"))?;
                Ok(HttpOf { method })
            }
        }
        deserializer.deserialize_map(HttpVisitor)
    }
}

/// `headers` or `multiValueHeaders`, read into the one header map: a value
/// is a string or a list of strings; `headers` wins over
/// `multiValueHeaders` for a name both carry, whichever comes first.
struct HeadersSeed<'a> {
    fields: &'a mut Fields,
    multi: bool,
}

impl<'de> DeserializeSeed<'de> for HeadersSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for HeadersSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of header names to a string or a list of strings")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.fields;
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                de::Error::invalid_value(de::Unexpected::Str(&name), &"a header name")
            })?;
            let values = map.next_value::<HeaderValues>()?;
            let headers = &mut fields.headers;
            if self.multi {
                // A name `headers` already set keeps that value.
                if !fields.single_names.contains(&name) {
                    for value in values.0 {
                        headers.append(&name, value);
                    }
                }
                continue;
            }
            fields.single_names.push(name.clone());
            let mut values = values.0.into_iter();
            if let Some(first) = values.next() {
                headers.insert(&name, first);
            }
            for value in values {
                headers.append(&name, value);
            }
        }
        Ok(())
    }
}

/// The value(s) of one header.
struct HeaderValues(Vec<HeaderValue>);

impl<'de> Deserialize<'de> for HeaderValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValuesVisitor;
        impl<'de> Visitor<'de> for ValuesVisitor {
            type Value = HeaderValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header value or a list of them")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<HeaderValues, E> {
                Ok(HeaderValues(vec![header_value(value)?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderValues, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(Text(value)) = seq.next_element::<Text<'de>>()? {
                    values.push(header_value(&value)?);
                }
                Ok(HeaderValues(values))
            }
        }
        deserializer.deserialize_any(ValuesVisitor)
    }
}

fn header_value<E: de::Error>(value: &str) -> Result<HeaderValue, E> {
    HeaderValue::from_str(value)
        .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &"a header value"))
}

/// A query map (`null` for none): names to a string or a list of strings,
/// kept in the event's order.
struct QuerySeed<'a>(&'a mut Vec<QueryValue>);

impl<'de> DeserializeSeed<'de> for QuerySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for QuerySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of query parameters")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            match map.next_value::<OneOrMany>()? {
                OneOrMany::One(value) => self.0.push(QueryValue {
                    name,
                    value,
                    single: true,
                }),
                OneOrMany::Many(values) => {
                    for value in values {
                        self.0.push(QueryValue {
                            name: name.clone(),
                            value,
                            single: false,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// A query value: a string or a list of strings.
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(value.to_string()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(value))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(value) = seq.next_element()? {
                    values.push(value);
                }
                Ok(OneOrMany::Many(values))
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// A string borrowed from the event's JSON when it has no escapes (keys,
/// header names and values are only looked at, never kept as text).
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(value.to_string())))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}
