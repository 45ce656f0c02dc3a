//! API Gateway proxy events as the function reads them: REST (v1, as
//! deployed) or HTTP API (v2, as `cargo lambda watch` and function URLs
//! send), read in one pass over the event's JSON into what the handler
//! takes ([`Request`]).
//!
//! lambda_http's event types (aws_lambda_events) were the largest share of
//! the boundary's instructions (docs/performance.md): both formats were
//! tried in turn, every header value went through an untagged enum (serde
//! buffers each value to try its variants), both header maps were built
//! whole, the query maps were `HashMap`s of `Vec`s, and the request
//! context (identity, authorizer, ...) was read into structs of which two
//! fields are used. Here keys are matched without copying, `headers` is
//! only looked at for names `multiValueHeaders` lacks, and what the handler
//! does not read is skipped. What is accepted, and how it reads, is what
//! the boundary read through lambda_http (tests/events.rs compares the two
//! on every fixture and on generated events):
//! - REST v1 when the event has `httpMethod` and `requestContext.httpMethod`,
//!   else HTTP API v2 when it has `requestContext.http.method`; anything
//!   else is not an event;
//! - a method `""` is GET; a header that is not a valid name or value makes
//!   the event invalid; `null` stands for an absent map;
//! - REST: every value of `multiValueHeaders`, in order (a repeated
//!   header's first value is the one API Gateway decides on, e.g. Accept
//!   against binaryMediaTypes); `headers`, which holds only the last value
//!   of each, fills in names `multiValueHeaders` lacks (hand-written
//!   events); `multiValueQueryStringParameters` when not empty, else
//!   `queryStringParameters`; the caller and source IP from
//!   `requestContext.identity`;
//! - HTTP API: `headers`; `cookies` as one Cookie header; the query from
//!   `rawQueryString` (repeated names kept), else `queryStringParameters`
//!   with comma-joined values split; the caller from
//!   `requestContext.authorizer.iam`, the source IP from
//!   `requestContext.http`.

use crate::app::Request;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

const NOT_AN_EVENT: &str = "expected an Amazon API Gateway proxy event (REST v1 or HTTP API v2)";

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = Fields::deserialize(deserializer)
            .map_err(|e| de::Error::custom(format_args!("{NOT_AN_EVENT}: {e}")))?;
        fields
            .into_event()
            .map_err(|e| de::Error::custom(format_args!("{NOT_AN_EVENT}: {e}")))
    }
}

/// The top-level fields of both formats that the handler reads; the rest
/// are skipped.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Fields<'a> {
    http_method: Option<MethodOf>,
    resource: Option<String>,
    path: Option<String>,
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    cookies: Option<Vec<String>>,
    #[serde(borrow)]
    headers: Option<Headers<'a>>,
    #[serde(borrow)]
    multi_value_headers: Option<Headers<'a>>,
    query_string_parameters: Option<Query>,
    multi_value_query_string_parameters: Option<Query>,
    path_parameters: Option<HashMap<String, String>>,
    request_context: Option<Context>,
    body: Option<String>,
    is_base64_encoded: Option<bool>,
}

/// `requestContext`: the request id, the method (REST: `httpMethod`, HTTP
/// API: `http.method`), and who called from where.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Context {
    request_id: Option<String>,
    /// REST: the path the client asked for, with the stage (what the HTML
    /// index links from).
    path: Option<String>,
    http_method: Option<MethodOf>,
    http: Option<HttpContext>,
    identity: Option<Identity>,
    authorizer: Option<Authorizer>,
}

/// HTTP API's `requestContext.http`: its method is required.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpContext {
    method: MethodOf,
    #[serde(default)]
    source_ip: Option<String>,
}

/// REST's `requestContext.identity`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Identity {
    source_ip: Option<String>,
    user_arn: Option<String>,
}

/// HTTP API's `requestContext.authorizer` (IAM authorization).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Authorizer {
    iam: Option<Identity>,
}

impl Fields<'_> {
    fn into_event(self) -> Result<Event, String> {
        let context = self.request_context.unwrap_or_default();
        let request_id = context.request_id.unwrap_or_default();
        let path_parameters = self.path_parameters.unwrap_or_default();
        let is_base64_encoded = self.is_base64_encoded.unwrap_or(false);
        if let (Some(method), Some(_)) = (self.http_method, &context.http_method) {
            let mut headers = self.multi_value_headers.unwrap_or_default().all_values()?;
            let mut others = Vec::new();
            for header in self.headers.unwrap_or_default().0 {
                // A name multiValueHeaders has is valid: only its value is
                // checked, not kept.
                if !headers.contains_key(header.name.as_ref()) {
                    others.push(header);
                } else if !valid_value(&header.value) {
                    return Err(format!("invalid header value {:?}", header.value));
                }
            }
            for (name, value) in Headers(others).all_values()? {
                if let Some(name) = name {
                    headers.insert(name, value);
                }
            }
            let query = match self.multi_value_query_string_parameters {
                Some(multi) if !multi.0.is_empty() => multi,
                _ => self.query_string_parameters.unwrap_or_default(),
            };
            let identity = context.identity.unwrap_or_default();
            let request = Request {
                method: method.0,
                headers,
                path_parameters,
                client_path: context.path.unwrap_or_default(),
                raw_path: self.path.unwrap_or_default(),
                resource: self.resource,
                query: query.0.into_iter().map(|q| (q.name, q.value)).collect(),
                body: Default::default(),
                request_id,
                caller: identity.user_arn,
                source_ip: identity.source_ip,
            };
            return Ok(Event::Rest(Box::new(ProxyEvent {
                request,
                body: self.body,
                is_base64_encoded,
            })));
        }
        let Some(http) = context.http else {
            return Err("no httpMethod (REST) nor requestContext.http.method (HTTP API)".into());
        };
        let mut headers = self.headers.unwrap_or_default().all_values()?;
        if let Some(cookies) = self.cookies
            && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
        {
            headers.insert(http::header::COOKIE, value);
        }
        // The raw query string, not `queryStringParameters`, which joins
        // repeated names with commas.
        let query = match &self.raw_query_string {
            Some(raw) => url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .collect(),
            None => self
                .query_string_parameters
                .unwrap_or_default()
                .0
                .into_iter()
                .flat_map(|q| match q.single {
                    true => q
                        .value
                        .split(',')
                        .map(|v| (q.name.clone(), v.to_string()))
                        .collect(),
                    false => vec![(q.name, q.value)],
                })
                .collect(),
        };
        let request = Request {
            method: http.method.0,
            headers,
            path_parameters,
            client_path: self.raw_path.clone().unwrap_or_default(),
            raw_path: self.raw_path.or(self.path).unwrap_or_default(),
            resource: None,
            query,
            body: Default::default(),
            request_id,
            caller: context.authorizer.and_then(|a| a.iam?.user_arn),
            source_ip: http.source_ip,
        };
        Ok(Event::Http(Box::new(ProxyEvent {
            request,
            body: self.body,
            is_base64_encoded,
        })))
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

/// A header map as sent (`headers` or `multiValueHeaders`): names to a
/// string or a list of strings, borrowed from the event's JSON, in order.
/// Nothing is checked or copied until [`Headers::all_values`] or the REST
/// merge takes a value.
#[derive(Default)]
struct Headers<'a>(Vec<Header<'a>>);

struct Header<'a> {
    name: Cow<'a, str>,
    value: Cow<'a, str>,
    /// Given in a list (appended), not as a string (which replaces).
    listed: bool,
}

impl Headers<'_> {
    /// Every value, checked, into one map.
    fn all_values(self) -> Result<HeaderMap, String> {
        let mut map = HeaderMap::with_capacity(self.0.len());
        for header in self.0 {
            let (name, value) = (header_name(&header.name)?, header_value(&header.value)?);
            match header.listed {
                true => map.append(name, value),
                false => map.insert(name, value).is_some(),
            };
        }
        Ok(map)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Headers<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;
        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header names to a string or a list of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers<'de>, A::Error> {
                let mut headers = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
                    map.next_value_seed(ValuesOf {
                        name,
                        into: &mut headers,
                    })?;
                }
                Ok(Headers(headers))
            }
        }
        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// The value(s) of one header, pushed one [`Header`] each.
struct ValuesOf<'a, 'de> {
    name: Cow<'de, str>,
    into: &'a mut Vec<Header<'de>>,
}

impl<'de> DeserializeSeed<'de> for ValuesOf<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValuesOf<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header value or a list of them")
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<(), E> {
        let (name, value) = (self.name, Cow::Borrowed(value));
        self.into.push(Header {
            name,
            value,
            listed: false,
        });
        Ok(())
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        let (name, value) = (self.name, Cow::Owned(value.to_string()));
        self.into.push(Header {
            name,
            value,
            listed: false,
        });
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let before = self.into.len();
        while let Some(Text(value)) = seq.next_element::<Text<'de>>()? {
            let name = self.name.clone();
            self.into.push(Header {
                name,
                value,
                listed: true,
            });
        }
        if self.into.len() == before {
            // No value: the name is still checked, as lambda_http does.
            header_name(&self.name).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))
}

fn header_value(value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| format!("invalid header value {value:?}"))
}

/// What [`HeaderValue::from_str`] accepts (visible ASCII, space, tab and
/// bytes >= 0x80), without making one.
fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// A query map: names to a string or a list of strings, in the event's
/// order, repeated names kept.
#[derive(Default)]
struct Query(Vec<QueryValue>);

/// One name and value of a query map; `single` when the map gave a string
/// (HTTP API joins repeated names into one with commas).
struct QueryValue {
    name: String,
    value: String,
    single: bool,
}

impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QueryVisitor;
        impl<'de> Visitor<'de> for QueryVisitor {
            type Value = Query;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of query parameters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Query, A::Error> {
                let mut query = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    match map.next_value::<OneOrMany>()? {
                        OneOrMany::One(value) => query.push(QueryValue {
                            name,
                            value,
                            single: true,
                        }),
                        OneOrMany::Many(values) => {
                            query.extend(values.into_iter().map(|value| QueryValue {
                                name: name.clone(),
                                value,
                                single: false,
                            }))
                        }
                    }
                }
                Ok(Query(query))
            }
        }
        deserializer.deserialize_map(QueryVisitor)
    }
}

/// A query value: a string or a list of strings (read without serde's
/// buffering of untagged enums).
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

/// A string borrowed from the event's JSON when it has no escapes.
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
