//! Scope strings (`domain::scope`) over generated requests: parsing is tolerant, never empty where a
//! default applies, keeps exactly the known tokens, and its printed form parses back to itself.

use proptest::prelude::*;
use statusgate::oauth::scope::{Scope, ScopeSet};

use super::{check, nasty_text};

/// A scope request: known tokens, near misses and junk, joined by assorted whitespace.
fn scope_request() -> BoxedStrategy<String> {
    let token = prop_oneof![
        3 => prop::sample::select(Scope::ALL.to_vec()).prop_map(|s| s.as_str().to_owned()),
        1 => prop::sample::select(vec![
            "offline_access", "openid", "claudeai", "read", "write", "MCP.PAGES.READ",
            "mcp.pages.read,mcp.incidents.read", "mcp.pages.", "mcp.*", "mcp.pages.read\u{0}",
        ])
        .prop_map(str::to_owned),
        1 => nasty_text(),
    ];
    let sep = prop::sample::select(vec![" ", "  ", "\t", "\n", "\u{3000}", "+", ",", "%20"]);
    prop::collection::vec((token, sep), 0..8)
        .prop_map(|parts| parts.into_iter().map(|(t, s)| format!("{t}{s}")).collect())
        .boxed()
}

/// The known scopes among `raw`'s whitespace-separated tokens.
fn known_in(raw: &str) -> Vec<Scope> {
    let mut v: Vec<Scope> = raw.split_whitespace().filter_map(Scope::parse).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn parsing_keeps_exactly_the_known_tokens_sorted_and_once() {
    check(4096, scope_request(), |raw| {
        let known = ScopeSet::parse_known(&raw);
        prop_assert_eq!(known.iter().collect::<Vec<_>>(), known_in(&raw));
        let tolerant = ScopeSet::parse_tolerant(Some(&raw));
        if known.is_empty() {
            prop_assert_eq!(tolerant, ScopeSet::read_defaults());
        } else {
            prop_assert_eq!(&tolerant, &known);
        }
        prop_assert!(!ScopeSet::parse_tolerant(Some(&raw)).is_empty());
        Ok(())
    });
}

#[test]
fn a_printed_scope_set_parses_back_to_itself() {
    check(4096, scope_request(), |raw| {
        let set = ScopeSet::parse_known(&raw);
        let printed = set.to_string();
        prop_assert_eq!(ScopeSet::parse_known(&printed), set.clone());
        // The wire form is RFC 6749 §3.3: scope-tokens joined by single spaces, nothing else.
        prop_assert!(
            !printed.starts_with(' ') && !printed.ends_with(' ') && !printed.contains("  ")
        );
        prop_assert!(printed
            .bytes()
            .all(|b| b == b' ' || (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\'));
        Ok(())
    });
}

#[test]
fn set_operations_agree_with_membership() {
    check(2048, (scope_request(), scope_request()), |(a, b)| {
        let (a, b) = (ScopeSet::parse_known(&a), ScopeSet::parse_known(&b));
        let both = a.intersect(&b);
        prop_assert!(both.is_subset_of(&a) && both.is_subset_of(&b));
        for s in Scope::ALL {
            prop_assert_eq!(both.contains(s), a.contains(s) && b.contains(s));
        }
        prop_assert_eq!(a.has_write(), a.iter().any(Scope::is_write));
        let tools = a.tools();
        prop_assert!(tools
            .iter()
            .all(|t| Scope::of_tool(t).is_some_and(|s| a.contains(s))));
        Ok(())
    });
}
