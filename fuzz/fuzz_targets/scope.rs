//! Scope strings: tolerant parsing keeps exactly the known tokens, never yields an empty set where the
//! read default applies, and prints a form that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statusgate::oauth::scope::{Scope, ScopeSet};

fuzz_target!(|raw: &str| {
    let known = ScopeSet::parse_known(raw);
    let mut expected: Vec<Scope> = raw.split_whitespace().filter_map(Scope::parse).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(known.iter().collect::<Vec<_>>(), expected);
    assert_eq!(ScopeSet::parse_known(&known.to_string()), known);
    let tolerant = ScopeSet::parse_tolerant(Some(raw));
    assert!(!tolerant.is_empty());
    assert!(known.is_empty() || tolerant == known);
});
