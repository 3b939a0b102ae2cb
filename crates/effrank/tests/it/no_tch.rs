//! Architecture invariant: effrank does not depend on tch (nor torch-sys), directly or through
//! any dependency. Checked on the workspace's resolved `Cargo.lock`, which cargo brings up to date
//! before it builds this test; the lock's edges include dev- and build-dependencies, a superset of
//! the normal ones, so an absence there is an absence everywhere.

use std::collections::{BTreeMap, BTreeSet};

/// `name -> dependency names` from a Cargo.lock (versions dropped: no package here is locked at
/// two versions that differ in whether they pull in tch).
fn lock_graph(lock: &str) -> BTreeMap<String, Vec<String>> {
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut deps = Vec::new();
        let mut in_deps = false;
        for line in block.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("name = ") {
                name = Some(n.trim_matches('"').to_owned());
            } else if line.starts_with("dependencies = [") {
                in_deps = true;
            } else if in_deps && line == "]" {
                in_deps = false;
            } else if in_deps {
                let dep = line.trim_matches(|c| c == '"' || c == ',');
                deps.push(dep.split(' ').next().unwrap_or(dep).to_owned());
            }
        }
        if let Some(name) = name {
            graph.entry(name).or_default().extend(deps);
        }
    }
    graph
}

fn reachable(graph: &BTreeMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(n) = stack.pop() {
        if seen.insert(n.clone()) {
            stack.extend(graph.get(&n).into_iter().flatten().cloned());
        }
    }
    seen
}

#[test]
fn effrank_does_not_depend_on_tch() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("workspace Cargo.lock");
    let graph = lock_graph(&lock);
    let deps = reachable(&graph, "effrank");
    // The walk sees real dependencies (so an empty walk cannot pass this test by accident).
    assert!(deps.contains("nalgebra") && deps.contains("matrixmultiply"), "{deps:?}");
    for forbidden in ["tch", "torch-sys"] {
        assert!(!deps.contains(forbidden), "effrank depends on {forbidden} through the lock graph");
    }
    let manifest =
        std::fs::read_to_string(root.join("crates/effrank/Cargo.toml")).expect("manifest");
    let names_torch =
        manifest.lines().map(str::trim).any(|l| l.starts_with("tch") || l.starts_with("torch"));
    assert!(!names_torch, "effrank's manifest declares a tch dependency");
}

#[test]
fn the_lock_walk_would_see_tch() {
    // The same walk on a small lock in which a crate pulls tch in through an intermediate.
    let lock = "[[package]]\nname = \"a\"\ndependencies = [\n \"b\",\n]\n\n[[package]]\nname = \"b\"\n\
                dependencies = [\n \"tch 0.26.0\",\n]\n\n[[package]]\nname = \"tch\"\nversion = \"0.26.0\"\n";
    assert!(reachable(&lock_graph(lock), "a").contains("tch"));
}
