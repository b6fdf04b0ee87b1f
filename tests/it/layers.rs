//! The layer list in ARCHITECTURE.md is the one the code keeps: every `crate::` path in `src/` is
//! checked against it, so a lower layer naming a higher one fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The fenced block of ARCHITECTURE.md opened with ```` ```{name} ````.
fn block<'a>(doc: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("```{name}\n");
    let at = doc
        .find(&open)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no {name} block"))
        + open.len();
    let end = doc[at..].find("```").expect("block closed") + at;
    doc[at..end]
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Module -> the modules its files name through `crate::`.
fn crossings(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut rest = text.as_str();
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    out.entry(module.clone()).or_default().insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn no_module_names_a_layer_it_may_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut allowed: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    for line in block(&doc, "layers") {
        let (module, deps) = line.split_once(':').expect("`module: deps`");
        let deps = deps.trim();
        let set = (deps != "*").then(|| deps.split_whitespace().map(str::to_owned).collect());
        allowed.insert(module.trim().to_owned(), set);
    }
    let known: BTreeSet<(String, String)> = block(&doc, "crossings")
        .iter()
        .map(|l| {
            let (a, b) = l.split_once("->").expect("`a -> b`");
            (a.trim().to_owned(), b.trim().to_owned())
        })
        .collect();

    let actual = crossings(&root.join("src"));
    let mut wrong = Vec::new();
    let mut seen_known = BTreeSet::new();
    for (module, names) in &actual {
        let Some(rule) = allowed.get(module) else {
            wrong.push(format!("{module} is not in the layer list"));
            continue;
        };
        let Some(rule) = rule else { continue };
        for name in names {
            if rule.contains(name) {
                continue;
            }
            let pair = (module.clone(), name.clone());
            if known.contains(&pair) {
                seen_known.insert(pair);
            } else {
                wrong.push(format!("{module} -> {name}"));
            }
        }
    }
    for gone in known.difference(&seen_known) {
        wrong.push(format!(
            "{} -> {} is listed as a crossing to remove but no longer exists: drop it from the list",
            gone.0, gone.1
        ));
    }
    assert!(wrong.is_empty(), "layer violations:\n{}", wrong.join("\n"));
}
