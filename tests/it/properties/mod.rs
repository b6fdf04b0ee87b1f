//! Generated-input tests: parsers and policies fed random and hostile input must refuse it in their
//! documented shapes, never panic and never answer 5xx. Pure functions get many cases; HTTP properties
//! share one spawned server per property and a bounded number of cases, so the suite stays fast.
//! `PROPTEST_CASES` and `PROPTEST_RNG_SEED` override the counts and the fixed seed for a longer hunt.

mod mcp;
mod oauth_forms;
mod outbound;
mod redirect;
mod registration;
mod scope;

use std::future::Future;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use crate::helpers::{Backend, TestApp, TestDb};

/// The seed used unless `PROPTEST_RNG_SEED` is set: CI sees the same cases on every run.
const SEED: u64 = 0x5747_6174_6531;

/// `cases` cases (unless `PROPTEST_CASES` says otherwise), a fixed seed, no regression files.
pub fn config(cases: u32) -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(SEED);
    }
    c.failure_persistence = None;
    c
}

/// Runs `test` over `strategy`; a failure panics with the smallest failing input proptest found.
pub fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    if let Err(e) = TestRunner::new(config(cases)).run(&strategy, test) {
        panic!("{e}");
    }
}

/// One real server for a whole property, with the runtime that drives it from proptest's sync closures.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    app: Option<TestApp>,
}

impl Harness {
    /// `None` (and a note) when the backend is PostgreSQL and no server is configured.
    pub fn spawn(backend: Backend) -> Option<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let Some(db) = rt.block_on(TestDb::new(backend)) else {
            eprintln!("skipped: STATUSGATE_TEST_PG_URL is not set");
            return None;
        };
        let app = rt.block_on(TestApp::spawn(db));
        Some(Self { rt, app: Some(app) })
    }

    pub fn app(&self) -> &TestApp {
        self.app.as_ref().unwrap()
    }

    /// Runs `f` to completion on the harness's runtime.
    pub fn run<T>(&self, f: impl Future<Output = T>) -> T {
        self.rt.block_on(f)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(app) = self.app.take() {
            self.rt.block_on(app.stop());
        }
    }
}

/// Defines `name::sqlite` and `name::postgres`, each running `body(&Harness)` on one fresh server.
#[macro_export]
macro_rules! http_property {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            $(#[$meta])*
            fn sqlite() {
                let h = $crate::properties::Harness::spawn($crate::helpers::Backend::Sqlite).unwrap();
                ($body)(&h);
            }

            #[test]
            $(#[$meta])*
            fn postgres() {
                if let Some(h) = $crate::properties::Harness::spawn($crate::helpers::Backend::Postgres) {
                    ($body)(&h);
                }
            }
        }
    };
}

/// Text that parsers trip on: empty, whitespace, NUL, stray percent signs, long runs, any Unicode.
pub fn nasty_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[ -~]{0,40}",
        2 => any::<String>(),
        1 => prop::sample::select(vec![
            "", " ", "\t", "\0", "a\0b", "%", "%00", "%zz", "+", "&", "=", "\u{feff}", "\u{202e}",
            "é", "😀", "\\", "\"", "null", "[]", "{}",
        ])
        .prop_map(str::to_owned),
        1 => (1usize..5000).prop_map(|n| "a".repeat(n)),
    ]
    .boxed()
}

/// Text without NUL, for fields whose NUL handling is tested on its own.
pub fn text_without_nul() -> BoxedStrategy<String> {
    nasty_text().prop_map(|s| s.replace('\0', "")).boxed()
}

/// A body that is not even text: random bytes, truncated or broken UTF-8.
pub fn raw_bytes() -> BoxedStrategy<Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300).boxed()
}

/// Content types the way clients really send them, and the way no client should.
pub fn content_type(right: &'static str) -> BoxedStrategy<Option<String>> {
    prop_oneof![
        4 => Just(Some(right.to_owned())),
        1 => Just(Some(format!("{right}; charset=UTF-8"))),
        1 => Just(Some(right.to_ascii_uppercase())),
        1 => Just(None),
        1 => prop::sample::select(vec!["text/plain", "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ";", ""])
            .prop_map(|s| Some(s.to_owned())),
        1 => "[ -~]{0,30}".prop_map(Some),
    ]
    .boxed()
}

/// Any JSON value, a few levels deep, with strings from `text`.
pub fn json_value(text: BoxedStrategy<String>) -> BoxedStrategy<serde_json::Value> {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// `s` as a header value, non-ASCII bytes included (HTTP allows them as obs-text); `None` for control
/// characters, which no HTTP client can send.
pub fn header_value(s: &str) -> Option<reqwest::header::HeaderValue> {
    reqwest::header::HeaderValue::from_bytes(s.as_bytes()).ok()
}
