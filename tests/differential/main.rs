//! Differential tests (issues 12 and 13): random sequences of S3 operations
//! made on two sides at once and compared after every step.
//!
//! - `proxy_matches_direct_s3`: each step goes through the proxy (REST v1
//!   event -> Lambda boundary -> handler, `tests/common`'s Harness) on one
//!   bucket and, side by side, straight to the same backend with aws-sdk-s3
//!   on a second bucket. The embedded store by default; moto (or any S3) with
//!   `S3_PROXY_TEST_ENDPOINT` (`make test-moto`).
//! - `store_matches_moto`: the same sequences made with aws-sdk-s3 against
//!   the embedded store and against moto's S3 server
//!   (`S3_PROXY_DIFF_MOTO_ENDPOINT`, set by `make test-moto`; skipped with a
//!   printed reason when unset).
//!
//! Steps: PUT (content type, metadata, Cache-Control, `If-None-Match: *`,
//! `If-Match`), GET and HEAD (ranges, `If-Match`, `If-None-Match`,
//! `If-Modified-Since`, `If-Unmodified-Since`), DELETE, ListObjectsV2 (prefix,
//! delimiter, start-after, max-keys, continuation), DeleteBucket. About two
//! steps in five also carry extra query parameters (S3 sub-resources and
//! junk) and/or extra `x-amz-*` headers (SSE, SSE-C, tagging, object lock,
//! metadata, junk). For those the subject (proxy, or store) must either
//! refuse them (4xx or 501, with an S3 error code) and leave its bucket
//! unchanged, or do exactly what the reference (S3 itself with the same
//! parameter, or moto) does.
//!
//! Compared after every step: status, S3 error code, body bytes (listings as
//! parsed documents), the object headers, and each bucket's whole state (every
//! key with its bytes and headers, read straight from the backend). Bucket
//! names are replaced by `{bucket}` before comparing. Values that name the
//! side's own state (the current ETag, Last-Modified, continuation tokens) are
//! resolved per side.
//!
//! A divergence is shrunk (proptest) to a minimal sequence, printed with both
//! answers; the run goes on looking for other kinds of divergence until its
//! budget is spent, then fails listing each one found.
//!
//! Modules: `steps` (what a sequence is made of), `generate` (random
//! sequences and simpler ones), `sides` (a step made on one side, that side's
//! state), `compare` (what must agree); this file runs and shrinks.
//!
//! Settings (environment): `DIFFTEST_CASES` sequences per test (default 40),
//! `DIFFTEST_STEPS` most steps per sequence (default 12), `DIFFTEST_SECONDS`
//! time budget per test including shrinking (default 35), `DIFFTEST_SEED`
//! (printed by every run; the same seed replays the same sequences).

#[path = "../common/mod.rs"]
mod common;
mod compare;
mod generate;
mod sides;
mod steps;

use compare::*;
use generate::*;
use sides::*;
use steps::*;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use common::{Harness, TIMEOUT};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use s3_proxy::local::gateway::HttpRequest;
use s3_proxy::local::server;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// --- settings -------------------------------------------------------------

struct Settings {
    cases: u32,
    max_steps: usize,
    budget: Duration,
    seed: u64,
}

impl Settings {
    fn from_env() -> Self {
        fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        }
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Self {
            cases: num("DIFFTEST_CASES", 40),
            max_steps: num("DIFFTEST_STEPS", 12).max(1),
            budget: Duration::from_secs(num("DIFFTEST_SECONDS", 35)),
            seed: num("DIFFTEST_SEED", clock ^ u64::from(std::process::id())),
        }
    }
}

/// Printed whatever libtest captures: the run's counts belong in `make test`'s log.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

// --- running sequences ----------------------------------------------------

#[derive(Debug, Clone)]
struct Divergence {
    /// 0-based index of the step that diverged.
    step: usize,
    shape: String,
    core_shape: String,
    /// What differed, first line first.
    details: Vec<String>,
    answers: String,
}

impl Divergence {
    /// What differed first: `status`, `header etag`, `state`, ...
    fn what(&self) -> &str {
        let first = self.details.first().map(String::as_str).unwrap_or_default();
        let what = first.split(':').next().unwrap_or_default();
        if what.starts_with("state") {
            "state"
        } else {
            what
        }
    }

    /// What kind of divergence: the step's shape (its operation and
    /// conditions, or for a step with extras its operation and extras) and
    /// what differed.
    fn signature(&self) -> String {
        format!("{} -> {}", self.shape, self.what())
    }

    /// What shrinking keeps: the same operation and conditions (with extras:
    /// the same operation, and some extras), and the same first difference.
    fn core(&self) -> String {
        format!("{} -> {}", self.core_shape, self.what())
    }
}

#[derive(Debug, Default)]
struct Counts {
    steps: usize,
    refused: usize,
    /// Sequences ended at a named deviation in the buckets' state.
    ended: usize,
}

struct Pair<'a> {
    subject: Side<'a>,
    reference: Side<'a>,
    names: Names,
}

impl Pair<'_> {
    async fn run(&mut self, steps: &[Step], counts: &mut Counts) -> Result<(), Divergence> {
        let (label_s, label_r) = ("s", "r");
        self.subject.bucket = bucket_name(label_s);
        self.reference.bucket = bucket_name(label_r);
        for side in [&self.subject, &self.reference] {
            side.client
                .create_bucket()
                .bucket(&side.bucket)
                .send()
                .await
                .unwrap_or_else(|e| panic!("create {}: {}", side.bucket, DisplayErrorContext(&e)));
        }
        let result = self.steps(steps, counts).await;
        for side in [&self.subject, &self.reference] {
            common::empty_and_delete(&side.client, &side.bucket).await;
        }
        result
    }

    async fn steps(&self, steps: &[Step], counts: &mut Counts) -> Result<(), Divergence> {
        let mut mem_s = Memory {
            state: self.subject.snapshot().await,
            last_list: None,
        };
        let mut mem_r = Memory {
            state: self.reference.snapshot().await,
            last_list: None,
        };
        let names = &self.names;
        let buckets = (self.subject.bucket.as_str(), self.reference.bucket.as_str());
        for (i, step) in steps.iter().enumerate() {
            counts.steps += 1;
            let (role_s, role_r) = if names.proxied {
                (Role::Proxy, Role::ProxyReference)
            } else {
                (Role::Direct, Role::Direct)
            };
            let call_s = step.call(&mem_s, buckets.0, role_s);
            let call_r = step.call(&mem_r, buckets.1, role_r);
            let diverged = |details: Vec<String>, a: &Answer, b: Option<&Answer>| Divergence {
                step: i,
                shape: step.shape(),
                core_shape: step.core_shape(),
                details,
                answers: format!(
                    "{}: {}\n{}: {}",
                    names.subject,
                    a.summary().replace(buckets.0, "{bucket}"),
                    names.reference,
                    b.map(|b| b.summary().replace(buckets.1, "{bucket}"))
                        .unwrap_or_else(|| "(not sent: the subject refused)".into())
                ),
            };
            let may_refuse = step.has_extras() || (names.proxied && step.ambiguous());
            let (a, b, state_s, state_r) = if may_refuse {
                let a = self.subject.exec(&call_s).await;
                let state_s = self.subject.snapshot().await;
                if a.is_refusal(call_s.method) {
                    if state_s == mem_s.state {
                        counts.refused += 1;
                        continue;
                    }
                    let mut details = vec![format!(
                        "state: refused ({}) yet the bucket changed",
                        a.summary()
                    )];
                    details.extend(diff_states(
                        &state_s,
                        &mem_s.state,
                        &Names {
                            subject: "after",
                            reference: "before",
                            proxied: false,
                        },
                        &|_, _| false,
                    ));
                    return Err(diverged(details, &a, None));
                }
                let b = self.reference.exec(&call_r).await;
                let state_r = self.reference.snapshot().await;
                (a, b, state_s, state_r)
            } else {
                let (a, b) = tokio::join!(self.subject.exec(&call_s), self.reference.exec(&call_r));
                let (state_s, state_r) =
                    tokio::join!(self.subject.snapshot(), self.reference.snapshot());
                (a, b, state_s, state_r)
            };
            let mut details = diff_answers(&call_s, &a, &b, buckets, names);
            let named = std::cell::Cell::new(false);
            let known = |key: &str, header: &str| {
                let known = !names.proxied
                    && copy_kept_old_tags(
                        &call_s,
                        (&mem_s.state, &mem_r.state),
                        (&state_s, &state_r),
                        key,
                        header,
                    );
                named.set(named.get() || known);
                known
            };
            details.extend(diff_states(&state_s, &state_r, names, &known));
            if !details.is_empty() {
                return Err(diverged(details, &a, Some(&b)));
            }
            if named.get() {
                // The buckets no longer hold the same state: what follows
                // would compare different things.
                counts.ended += 1;
                return Ok(());
            }
            if let Some((l, _)) = &call_s.list
                && a.status == 200
            {
                mem_s.last_list = Some((l.clone(), next_token(&a.body)));
                mem_r.last_list = Some((l.clone(), next_token(&b.body)));
            }
            mem_s.state = state_s;
            mem_r.state = state_r;
        }
        Ok(())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Found {
    signature: String,
    steps: Vec<Step>,
    divergence: Divergence,
    seen: usize,
}

/// Runs random sequences on `pair` until the case count or the time budget
/// is reached; shrinks each new kind of divergence; fails listing them all.
fn differential(rt: &tokio::runtime::Runtime, title: &str, mut pair: Pair<'_>) {
    let settings = Settings::from_env();
    let started = Instant::now();
    let deadline = started + settings.budget;
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&(settings.seed.rotate_left(i as u32 * 16) ^ i as u64).to_le_bytes());
    }
    let mut runner = TestRunner::new_with_rng(
        RunnerConfig {
            failure_persistence: None,
            ..RunnerConfig::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    );
    let strategy = prop::collection::vec(step(), 1..=settings.max_steps);
    let mut counts = Counts::default();
    let mut sequences = 0u32;
    let mut found: Vec<Found> = Vec::new();
    say(&format!(
        "differential {title}: seed {} (DIFFTEST_SEED), up to {} sequences of up to {} steps in {} s",
        settings.seed,
        settings.cases,
        settings.max_steps,
        settings.budget.as_secs()
    ));
    while sequences < settings.cases && Instant::now() < deadline {
        let mut tree = strategy.new_tree(&mut runner).expect("a sequence");
        sequences += 1;
        let steps = tree.current();
        let Err(mut first) = rt.block_on(pair.run(&steps, &mut counts)) else {
            continue;
        };
        let mut best = (steps[..=first.step].to_vec(), first.clone());
        // A step with extras that diverges just as well without them shows a
        // divergence of its operation, not of the extras: shrink that one.
        let mut walk = true;
        let mut plain = best.0.clone();
        let extras = plain.last().is_some_and(Step::has_extras);
        if let Some(last) = plain.last_mut().filter(|_| extras) {
            last.query.clear();
            last.headers.clear();
            if let Err(d) = rt.block_on(pair.run(&plain, &mut Counts::default()))
                && d.step == first.step
            {
                first = d.clone();
                best = (plain, d);
                walk = false;
            }
        }
        if let Some(known) = found.iter_mut().find(|f| f.signature == first.signature()) {
            known.seen += 1;
            continue;
        }
        let core = first.core();
        let mut runs = 0;
        // At least 10 s of shrinking, even past the budget.
        let shrink_deadline = deadline.max(Instant::now() + Duration::from_secs(10));
        // Shrink: proptest's simplify/complicate walk (unless the extras were
        // dropped above: the tree no longer describes the sequence), each
        // candidate run afresh on new buckets; the last failing one is the
        // minimal.
        while walk && Instant::now() < shrink_deadline && runs < 300 && tree.simplify() {
            loop {
                runs += 1;
                let candidate = tree.current();
                match rt.block_on(pair.run(&candidate, &mut Counts::default())) {
                    Err(d) if d.core() == core => {
                        best = (candidate[..=d.step].to_vec(), d);
                        break;
                    }
                    _ => {
                        if Instant::now() >= shrink_deadline || !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        // Then greedily: drop a step, a condition, an extra, a header.
        while Instant::now() < shrink_deadline {
            let smaller = simpler(&best.0).into_iter().find_map(|candidate| {
                runs += 1;
                match rt.block_on(pair.run(&candidate, &mut Counts::default())) {
                    Err(d) if d.core() == core => Some((candidate[..=d.step].to_vec(), d)),
                    _ => None,
                }
            });
            match smaller {
                Some(found) => best = found,
                None => break,
            }
        }
        let (steps, divergence) = best;
        let signature = divergence.signature();
        if let Some(known) = found.iter_mut().find(|f| f.signature == signature) {
            known.seen += 1;
            continue;
        }
        say(&format!(
            "differential {title}: divergence {} found (sequence {sequences}, shrunk in {runs} runs to {} steps)",
            found.len() + 1,
            steps.len()
        ));
        found.push(Found {
            signature,
            steps,
            divergence,
            seen: 1,
        });
    }
    say(&format!(
        "differential {title}: compared {sequences} sequences, {} steps ({} extras refused and left unchanged; {} sequences ended at a named deviation in state), {} kinds of divergence, {:.1} s",
        counts.steps,
        counts.refused,
        counts.ended,
        found.len(),
        started.elapsed().as_secs_f64()
    ));
    if found.is_empty() {
        return;
    }
    let mut report = format!(
        "{} kinds of divergence between {} and {} (seed {}):\n",
        found.len(),
        pair.names.subject,
        pair.names.reference,
        settings.seed
    );
    for (n, f) in found.iter().enumerate() {
        report.push_str(&format!(
            "\n#{} {} (seen in {} sequences)\n  minimal sequence:\n{}  step {} diverged:\n",
            n + 1,
            f.signature,
            f.seen,
            render(&f.steps),
            f.divergence.step + 1
        ));
        for d in &f.divergence.details {
            report.push_str(&format!("    - {d}\n"));
        }
        for line in f.divergence.answers.lines() {
            report.push_str(&format!("    {line}\n"));
        }
    }
    if let Ok(path) = std::env::var("DIFFTEST_REPORT") {
        let _ = std::fs::write(path, &report);
    }
    panic!("{report}");
}

#[test]
fn proxy_matches_direct_s3() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let title = if h.external {
        "proxy vs aws-sdk-s3 (S3_PROXY_TEST_ENDPOINT)"
    } else {
        "proxy vs aws-sdk-s3 (embedded store)"
    };
    let pair = Pair {
        subject: Side {
            client: h.client.clone(),
            bucket: String::new(),
            proxy: Some(&h),
        },
        reference: Side {
            client: h.client.clone(),
            bucket: String::new(),
            proxy: None,
        },
        names: Names {
            subject: "proxy",
            reference: "S3",
            proxied: true,
        },
    };
    differential(&rt, title, pair);
}

#[test]
fn store_matches_moto() {
    let Some(endpoint) = std::env::var("S3_PROXY_DIFF_MOTO_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        say(
            "differential store vs moto: skipped: S3_PROXY_DIFF_MOTO_ENDPOINT is not set \
             (`make test-moto` sets it to the moto server it starts)",
        );
        return;
    };
    let rt = runtime();
    let dir = common::temp_dir();
    let store = rt
        .block_on(server::start_store(
            dir.path(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .expect("embedded store starts");
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let moto = server::static_client(
        &endpoint,
        &env("S3_PROXY_TEST_ACCESS_KEY", "test"),
        &env("S3_PROXY_TEST_SECRET_KEY", "test"),
        &env("S3_PROXY_TEST_REGION", "us-east-1"),
        TIMEOUT,
    );
    let pair = Pair {
        subject: Side {
            client: server::local_client(&store.url(), TIMEOUT),
            bucket: String::new(),
            proxy: None,
        },
        reference: Side {
            client: moto,
            bucket: String::new(),
            proxy: None,
        },
        names: Names {
            subject: "store",
            reference: "moto",
            proxied: false,
        },
    };
    differential(&rt, "embedded store vs moto (aws-sdk-s3 both)", pair);
}
