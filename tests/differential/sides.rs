//! One side of a comparison: a bucket reached through the proxy (the Lambda
//! boundary) or straight with aws-sdk-s3; a step resolved for it, its answer
//! as the client sees it, and the bucket's whole state.

use super::*;

/// What a side knows between steps to resolve per-side values.
#[derive(Debug, Clone)]
pub struct Memory {
    pub state: State,
    /// The last successful listing's parameters and NextContinuationToken.
    pub last_list: Option<(List, Option<String>)>,
}

/// One request, resolved for one side.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub key: Option<String>,
    pub list: Option<(List, Option<String>)>,
    pub query: Vec<(&'static str, Option<&'static str>)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

pub fn resolve_tag(tag: Tag, key: &str, memory: &Memory) -> String {
    match tag {
        Tag::Current => memory
            .state
            .object(key)
            .and_then(|o| o.headers.get("etag").cloned())
            .unwrap_or_else(|| "\"ffffffffffffffffffffffffffffffff\"".to_string()),
        Tag::Other => OTHER_ETAG.to_string(),
        Tag::Star => "*".to_string(),
    }
}

pub fn resolve_when(when: When, key: &str, memory: &Memory) -> String {
    let last_modified = || {
        memory
            .state
            .object(key)
            .map(|o| o.last_modified.clone())
            .filter(|d| httpdate::parse_http_date(d).is_ok())
    };
    match when {
        When::LongAgo => LONG_AGO.to_string(),
        When::Future => FUTURE.to_string(),
        When::LastModified => last_modified().unwrap_or_else(|| LONG_AGO.to_string()),
        When::BeforeLastModified => last_modified()
            .and_then(|d| httpdate::parse_http_date(&d).ok())
            .map(|t| httpdate::fmt_http_date(t - Duration::from_secs(1)))
            .unwrap_or_else(|| LONG_AGO.to_string()),
    }
}

pub fn cond_header(cond: Cond, key: &str, memory: &Memory) -> (String, String) {
    match cond {
        Cond::Match(t) => ("if-match".into(), resolve_tag(t, key, memory)),
        Cond::NoneMatch(t) => ("if-none-match".into(), resolve_tag(t, key, memory)),
        Cond::ModifiedSince(w) => ("if-modified-since".into(), resolve_when(w, key, memory)),
        Cond::UnmodifiedSince(w) => ("if-unmodified-since".into(), resolve_when(w, key, memory)),
    }
}

/// The Content-Type the proxy documents for a PUT without one (README, PUT
/// object): guessed from the key's extension, else application/octet-stream.
/// The direct side sends it, so both store the same documented request.
pub fn documented_content_type(key: &str) -> String {
    mime_guess::from_path(key)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

/// Who makes a step: the proxy, aws-sdk-s3 as the proxy's reference (which
/// sends the request the proxy documents it makes of the client's), or
/// aws-sdk-s3 on its own (store vs moto).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Role {
    Proxy,
    ProxyReference,
    Direct,
}

/// One `bytes=` range the proxy honours (first <= last); anything else it
/// documents as ignored (openapi.yaml: an invalid Range is ignored, as S3 and
/// RFC 9110 say).
pub fn honoured_range(range: &str) -> bool {
    let Some(spec) = range.strip_prefix("bytes=") else {
        return false;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return false;
    };
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (first, last) {
        ("", l) => number(l),
        (f, "") => number(f),
        (f, l) => number(f) && number(l) && f.parse::<u64>().ok() <= l.parse::<u64>().ok(),
    }
}

impl Step {
    pub fn call(&self, memory: &Memory, bucket: &str, role: Role) -> Call {
        let mut call = Call {
            method: "GET",
            key: None,
            list: None,
            query: self.query.clone(),
            headers: Vec::new(),
            body: None,
        };
        match &self.op {
            Op::Put {
                key,
                body,
                content_type,
                meta,
                cache_control,
                cond,
            } => {
                let k = KEYS[*key];
                call.method = "PUT";
                call.key = Some(k.to_string());
                match content_type {
                    Some(t) => call.headers.push(("content-type".into(), t.to_string())),
                    None if role != Role::Proxy => call
                        .headers
                        .push(("content-type".into(), documented_content_type(k))),
                    None => {}
                }
                if *meta {
                    call.headers
                        .push(("x-amz-meta-color".into(), "blue".into()));
                }
                if *cache_control {
                    call.headers
                        .push(("cache-control".into(), "max-age=60".into()));
                }
                call.headers.extend(cond.map(|c| cond_header(c, k, memory)));
                call.body = Some(match body {
                    Body::Bytes(b) => b.clone(),
                    Body::Tagging => TAGGING_BODY.as_bytes().to_vec(),
                });
            }
            Op::Get { key, range, conds } | Op::Head { key, range, conds } => {
                let k = KEYS[*key];
                call.method = if matches!(self.op, Op::Get { .. }) {
                    "GET"
                } else {
                    "HEAD"
                };
                call.key = Some(k.to_string());
                let sent = range.filter(|r| role != Role::ProxyReference || honoured_range(r));
                call.headers
                    .extend(sent.map(|r| ("range".to_string(), r.to_string())));
                call.headers
                    .extend(conds.iter().map(|c| cond_header(*c, k, memory)));
            }
            Op::Delete { key } => {
                call.method = "DELETE";
                call.key = Some(KEYS[*key].to_string());
            }
            Op::List(l) => call.list = Some((l.clone(), None)),
            Op::ListNext => {
                // Without a token (the last page was the end), the same
                // listing again: an invented token is refused by S3 but
                // taken by moto, so it would compare nothing useful.
                call.list = Some(match &memory.last_list {
                    Some((l, token)) => (l.clone(), token.clone()),
                    None => (
                        List {
                            prefix: None,
                            delimiter: None,
                            start_after: None,
                            max_keys: None,
                        },
                        None,
                    ),
                })
            }
            Op::DeleteBucket => call.method = "DELETE",
        }
        for group in &self.headers {
            for (k, v) in group.iter() {
                call.headers
                    .push((k.to_string(), v.replace("{bucket}", bucket)));
            }
        }
        call
    }
}

/// An answer as the client sees it.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// 0: no HTTP answer at all (the connection failed).
    pub status: u16,
    pub code: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_refusal(&self, method: &str) -> bool {
        let refused = (400..500).contains(&self.status) || self.status == 501;
        // HEAD answers carry no body, so no error code either.
        refused && (!self.code.is_empty() || method == "HEAD")
    }

    pub fn summary(&self) -> String {
        let mut s = format!("{}", self.status);
        if !self.code.is_empty() {
            s.push_str(&format!(" {}", self.code));
        }
        let shown: Vec<String> = self
            .headers
            .iter()
            .filter(|(k, _)| compared_header(k))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        if !shown.is_empty() {
            s.push_str(&format!(" [{}]", shown.join(", ")));
        }
        if !self.body.is_empty() {
            s.push_str(&format!(" body: {}", excerpt(&self.body)));
        }
        s
    }
}

pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(300).collect();
    format!("{text:?} ({} bytes)", body.len())
}

pub fn error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or_default()
        .to_string()
}

/// Records the last HTTP answer of an SDK call as received: status, headers,
/// and the body when the SDK read it whole (everything but a streamed GET).
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Option<Answer>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "difftest::Capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let body = response
            .body()
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        *self.0.lock().unwrap() = Some(Answer {
            status: response.status().as_u16(),
            code: String::new(),
            headers,
            body,
        });
        Ok(())
    }
}

pub struct Side<'a> {
    pub client: Client,
    pub bucket: String,
    /// Through the proxy (the Lambda boundary) when set, else straight.
    pub proxy: Option<&'a Harness>,
}

pub static BUCKETS: AtomicU32 = AtomicU32::new(0);

pub fn bucket_name(label: &str) -> String {
    let n = BUCKETS.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("dt{label}-{:x}{nanos:x}-{n}", std::process::id())
}

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

impl Side<'_> {
    pub async fn exec(&self, call: &Call) -> Answer {
        match self.proxy {
            Some(h) => self.through_proxy(h, call).await,
            None => direct(&self.client, &self.bucket, call).await,
        }
    }

    pub async fn through_proxy(&self, h: &Harness, call: &Call) -> Answer {
        let mut target = format!("/{}", self.bucket);
        if let Some(key) = &call.key {
            let path: Vec<String> = key.split('/').map(encode).collect();
            target.push('/');
            target.push_str(&path.join("/"));
        }
        let mut query: Vec<String> = Vec::new();
        if let Some((l, token)) = &call.list {
            query.extend(l.prefix.map(|v| format!("prefix={}", encode(v))));
            query.extend(l.delimiter.map(|v| format!("delimiter={}", encode(v))));
            query.extend(l.start_after.map(|v| format!("start-after={}", encode(v))));
            query.extend(l.max_keys.map(|v| format!("max-keys={v}")));
            query.extend(
                token
                    .as_ref()
                    .map(|t| format!("continuation-token={}", encode(t))),
            );
        }
        for (k, v) in &call.query {
            query.push(match v {
                Some(v) => format!("{}={}", encode(k), encode(v)),
                None => encode(k),
            });
        }
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query.join("&"));
        }
        let mut req = HttpRequest::new(call.method, &target);
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &call.body {
            req = req.body(body.clone());
        }
        let out = h.call(req).await;
        let code = if out.status >= 300 {
            out.code()
        } else {
            String::new()
        };
        Answer {
            status: out.status,
            code,
            headers: out
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.join(",")))
                .collect(),
            body: out.body,
        }
    }

    /// The bucket's whole state, read straight from the backend.
    pub async fn snapshot(&self) -> State {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(token.clone())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    let text = DisplayErrorContext(&e).to_string();
                    return if text.contains("NoSuchBucket") {
                        State::NoBucket
                    } else {
                        State::Unreadable(text)
                    };
                }
            };
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for key in keys {
            let client = self.client.clone();
            let bucket = self.bucket.clone();
            tasks.spawn(async move {
                let call = Call {
                    method: "GET",
                    key: Some(key.clone()),
                    list: None,
                    query: Vec::new(),
                    headers: Vec::new(),
                    body: None,
                };
                let answer = direct(&client, &bucket, &call).await;
                (key, answer)
            });
        }
        let mut objects = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (key, answer) = joined.expect("snapshot task");
            let last_modified = answer
                .headers
                .get("last-modified")
                .cloned()
                .unwrap_or_default();
            objects.insert(
                key,
                Object {
                    status: answer.status,
                    headers: answer
                        .headers
                        .into_iter()
                        .filter(|(k, _)| compared_header(k) && !TRANSPORT.contains(&k.as_str()))
                        .collect(),
                    body: answer.body,
                    last_modified,
                },
            );
        }
        State::Objects(objects)
    }
}

/// One request straight to the backend with aws-sdk-s3: the operation its
/// method and path name, the listing parameters typed, and every other query
/// parameter and header added to the request before it is signed.
pub async fn direct(client: &Client, bucket: &str, call: &Call) -> Answer {
    let capture = Capture::default();
    let query = call.query.clone();
    let headers = call.headers.clone();
    let mutate = move |req: &mut aws_smithy_runtime_api::http::Request| {
        let mut uri = req.uri().to_string();
        for (k, v) in &query {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            uri.push_str(&encode(k));
            if let Some(v) = v {
                uri.push('=');
                uri.push_str(&encode(v));
            }
        }
        req.set_uri(uri).expect("a valid URI");
        // The first value of a name replaces what the SDK set; a repeated
        // name is sent repeated, as the proxy receives it.
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in &headers {
            if seen.contains(&k.as_str()) {
                req.headers_mut().append(k.clone(), v.clone());
            } else {
                req.headers_mut().insert(k.clone(), v.clone());
                seen.push(k);
            }
        }
    };
    macro_rules! send {
        ($builder:expr) => {
            $builder
                .customize()
                .interceptor(capture.clone())
                .mutate_request(mutate)
                .send()
                .await
        };
    }
    let describe = |e: &dyn std::error::Error| DisplayErrorContext(e).to_string();
    let (failure, streamed): (Option<String>, Option<Vec<u8>>) =
        match (call.method, call.key.as_deref()) {
            ("PUT", Some(key)) => {
                let body = ByteStream::from(call.body.clone().unwrap_or_default());
                let r = send!(client.put_object().bucket(bucket).key(key).body(body));
                (r.err().map(|e| describe(&e)), None)
            }
            ("GET", Some(key)) => match send!(client.get_object().bucket(bucket).key(key)) {
                Ok(out) => match out.body.collect().await {
                    Ok(bytes) => (None, Some(bytes.into_bytes().to_vec())),
                    Err(e) => (Some(format!("reading the body: {e}")), None),
                },
                Err(e) => (Some(describe(&e)), None),
            },
            ("HEAD", Some(key)) => {
                let r = send!(client.head_object().bucket(bucket).key(key));
                (r.err().map(|e| describe(&e)), None)
            }
            ("DELETE", Some(key)) => {
                let r = send!(client.delete_object().bucket(bucket).key(key));
                (r.err().map(|e| describe(&e)), None)
            }
            ("DELETE", None) => {
                let r = send!(client.delete_bucket().bucket(bucket));
                (r.err().map(|e| describe(&e)), None)
            }
            ("GET", None) => {
                let (l, token) = call.list.clone().expect("a listing");
                let r = send!(
                    client
                        .list_objects_v2()
                        .bucket(bucket)
                        .set_prefix(l.prefix.map(str::to_string))
                        .set_delimiter(l.delimiter.map(str::to_string))
                        .set_start_after(l.start_after.map(str::to_string))
                        .set_max_keys(l.max_keys)
                        .set_continuation_token(token)
                );
                (r.err().map(|e| describe(&e)), None)
            }
            (method, key) => panic!("no direct call for {method} {key:?}"),
        };
    let captured = capture.0.lock().unwrap().take();
    match captured {
        Some(mut answer) => {
            if let Some(body) = streamed {
                answer.body = body;
            }
            if answer.status >= 300 {
                answer.code = error_code(&answer.body);
            }
            // An answer the SDK could not read as the operation's (another
            // document, e.g. `?acl`'s) still counts as received.
            answer
        }
        None => Answer {
            status: 0,
            code: format!("no answer: {}", failure.unwrap_or_default()),
            ..Answer::default()
        },
    }
}
