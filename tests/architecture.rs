//! The architecture invariants of ARCHITECTURE.md that can be checked mechanically, checked.
//!
//! They read the workspace's source as text (no build step, no extra tool), so a change that
//! breaks one fails CI with the file and line at fault instead of drifting silently:
//!
//! - gateway-sim never depends on loadgen;
//! - the engine knows no HTTP and never sleeps: it imports no hyper, http or tokio;
//! - the fault model (behaviour) imports no hyper, http or tokio, and no front door or server;
//! - only gateway-sim's `server/` serves sockets, and only `webhooks/` connects out;
//! - exactly one file of loadgen knows goose;
//! - the money check is pure: no async, no files, no network;
//! - no two modules of a crate import each other, directly or around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// One source file of a crate, with the test-only code cut off.
struct Source {
    /// Relative to the crate's `src/`, such as `engine/operations.rs`.
    file: String,
    /// Its module path, such as `["engine", "operations"]` (`[]` for lib.rs).
    module: Vec<String>,
    /// The file's code before its first top-level `#[cfg(test)]`.
    code: String,
}

fn sources(krate: &str) -> Vec<Source> {
    let src = workspace().join(krate).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let file = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // Binaries are crates of their own; unit-test files are not the architecture.
            if file == "main.rs"
                || file.starts_with("bin/")
                || file.ends_with("/tests.rs")
                || file == "tests.rs"
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            let code = match text.find("\n#[cfg(test)]") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.push(Source {
                module: module_of(&file),
                file,
                code,
            });
        }
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

fn module_of(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The lines of `code` that mention `needle` in a `use` or a path, as "file:line: text".
fn lines_naming(source: &Source, needles: &[&str]) -> Vec<String> {
    source
        .code
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            needles.iter().any(|n| code.contains(n))
        })
        .map(|(i, line)| format!("{}:{}: {}", source.file, i + 1, line.trim()))
        .collect()
}

#[test]
fn gateway_sim_never_depends_on_loadgen() {
    let manifest = std::fs::read_to_string(workspace().join("gateway-sim/Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().expect("gateway-sim/Cargo.toml is TOML");
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = manifest.get(table).and_then(|t| t.as_table()) {
            assert!(
                !deps.contains_key("loadgen"),
                "gateway-sim's [{table}] names loadgen: the simulator must stay usable alone"
            );
        }
    }
}

/// The lines of one top-level module of gateway-sim that name any of `needles`.
fn gateway_module_naming(module: &str, needles: &[&str]) -> Vec<String> {
    sources("gateway-sim")
        .iter()
        .filter(|s| s.module.first().is_some_and(|m| m == module))
        .flat_map(|s| lines_naming(s, needles))
        .collect()
}

#[test]
fn the_engine_knows_no_http_and_never_sleeps() {
    let found = gateway_module_naming(
        "engine",
        &[
            "hyper::",
            "http::",
            "tokio::",
            "crate::api",
            "crate::server",
            "crate::behaviour",
            "std::thread::sleep",
        ],
    );
    assert!(found.is_empty(), "the engine must stay pure: {found:#?}");
}

#[test]
fn the_fault_model_is_free_of_io_types_and_of_the_layers_above_it() {
    let found = gateway_module_naming(
        "behaviour",
        &[
            "hyper::",
            "http::",
            "tokio::",
            "crate::api",
            "crate::server",
            "crate::control",
            "crate::engine",
        ],
    );
    assert!(found.is_empty(), "behaviour must stay pure: {found:#?}");
}

#[test]
fn only_the_server_serves_sockets() {
    let found: Vec<String> = sources("gateway-sim")
        .iter()
        .filter(|s| s.module.first().is_none_or(|m| m != "server"))
        .flat_map(|s| lines_naming(s, &["TcpListener::bind", ".accept()", "serve_connection"]))
        .collect();
    assert!(found.is_empty(), "sockets outside server/: {found:#?}");
}

#[test]
fn only_webhook_delivery_calls_out() {
    let found: Vec<String> = sources("gateway-sim")
        .iter()
        .filter(|s| s.module.first().is_none_or(|m| m != "webhooks"))
        .flat_map(|s| lines_naming(s, &["TcpStream::connect", "client::conn", "reqwest::"]))
        .collect();
    assert!(
        found.is_empty(),
        "outbound connections outside webhooks/: {found:#?}"
    );
}

#[test]
fn exactly_one_file_of_loadgen_knows_goose() {
    let files: Vec<String> = sources("loadgen")
        .iter()
        .filter(|s| !lines_naming(s, &["goose::"]).is_empty())
        .map(|s| s.file.clone())
        .collect();
    assert_eq!(
        files,
        ["flows/goose_adapter.rs"],
        "goose is an implementation detail of how users are run; keep it in one file"
    );
}

#[test]
fn the_money_check_is_pure() {
    let sources = sources("loadgen");
    let check = sources
        .iter()
        .find(|s| s.file == "reconcile.rs")
        .expect("loadgen/src/reconcile.rs holds the money check");
    let found = lines_naming(
        check,
        &[
            "async ",
            "tokio::",
            "reqwest",
            "std::fs",
            "std::net",
            "File::",
            // What judges or loads: importing it would bring back the old import circle.
            "crate::thresholds",
            "crate::offline_check",
            "crate::ledger_source",
        ],
    );
    assert!(
        found.is_empty(),
        "the money check is a pure function of (outcomes, ledger): {found:#?}"
    );
}

/// Every `crate::`, `super::` and `self::` path a file names in code, as written (use trees
/// expanded). Comments are cut first: a doc link to a module is not a dependency on it.
fn paths_named(code: &str) -> Vec<String> {
    let code: String = code
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let code = code.as_str();
    let mut out = Vec::new();
    // `use` items, which may span lines and hold braces. Only lines that start an item count,
    // so the word "use" in a string or a comment is not mistaken for one.
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let item = line.trim_start();
        let item = match item.strip_prefix("pub") {
            Some(rest) if rest.starts_with('(') => {
                rest[rest.find(')').map_or(0, |i| i + 1)..].trim_start()
            }
            Some(rest) => rest.trim_start(),
            None => item,
        };
        let Some(tree) = item.strip_prefix("use ") else {
            continue;
        };
        let mut tree = tree.to_string();
        while !tree.contains(';') {
            match lines.next() {
                Some(next) => tree.push_str(next),
                None => break,
            }
        }
        let end = tree.find(';').unwrap_or(tree.len());
        expand_tree("", &tree[..end], &mut out);
    }
    // Paths used inline, such as `crate::api::query_param(...)`.
    for prefix in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(prefix) {
            let start = from + i;
            let boundary = code[..start]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            let len = code[start..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(code.len() - start);
            if boundary {
                out.push(code[start..start + len].trim_end_matches(':').to_string());
            }
            from = start + len.max(1);
        }
    }
    out
}

fn expand_tree(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = format!("{prefix}{}", &tree[..open]);
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_tree(&head, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_tree(&head, &inner[start..], out);
    } else if !tree.is_empty() {
        let path = format!("{prefix}{tree}");
        let path = path
            .split(" as ")
            .next()
            .unwrap_or(&path)
            .trim()
            .to_string();
        out.push(path);
    }
}

/// Resolves a written path to absolute module segments, or `None` for other crates and std.
fn absolute(from: &[String], path: &str) -> Option<Vec<String>> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> = match *segments.first()? {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        "super" => {
            let mut base = from.to_vec();
            base.pop()?;
            base
        }
        _ => return None,
    };
    segments.remove(0);
    // `super::super::x`
    while segments.first() == Some(&"super") {
        base.pop()?;
        segments.remove(0);
    }
    base.extend(
        segments
            .into_iter()
            .filter(|s| *s != "self" && *s != "*")
            .map(str::to_string),
    );
    Some(base)
}

/// For each module that has children: which child each name it re-exports comes from.
fn re_exports(sources: &[Source]) -> BTreeMap<(Vec<String>, String), String> {
    let mut map = BTreeMap::new();
    for s in sources {
        let is_index = s.file.ends_with("mod.rs") || s.file == "lib.rs";
        if !is_index {
            continue;
        }
        let mut lines = s.code.lines();
        while let Some(line) = lines.next() {
            let Some(tree) = line.trim_start().strip_prefix("pub use ") else {
                continue;
            };
            let mut tree = tree.to_string();
            while !tree.contains(';') {
                match lines.next() {
                    Some(next) => tree.push_str(next),
                    None => break,
                }
            }
            let end = tree.find(';').unwrap_or(tree.len());
            let mut paths = Vec::new();
            expand_tree("", &tree[..end], &mut paths);
            for path in paths {
                let segments: Vec<&str> = path.split("::").map(str::trim).collect();
                if segments.len() >= 2 && !["crate", "super", "self", "std"].contains(&segments[0])
                {
                    let name = segments.last().unwrap().to_string();
                    map.insert((s.module.clone(), name), segments[0].to_string());
                }
            }
        }
    }
    map
}

fn circles(krate: &str, sources: &[Source]) -> Vec<String> {
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let exports = re_exports(sources);
    // parent module → (child → children it imports)
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut witness: BTreeMap<(Vec<String>, String, String), String> = BTreeMap::new();
    for s in sources {
        for path in paths_named(&s.code) {
            let Some(target) = absolute(&s.module, &path) else {
                continue;
            };
            let common = s
                .module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            // A parent reaching into its own children is not an edge between siblings.
            if common == s.module.len() || common >= target.len() {
                continue;
            }
            let parent = s.module[..common].to_vec();
            let from = s.module[common].clone();
            let mut to = target[common].clone();
            let mut child = parent.clone();
            child.push(to.clone());
            if !modules.contains(&child) {
                // An item of the parent: follow its re-export to the child defining it.
                match exports.get(&(parent.clone(), to.clone())) {
                    Some(defining) => to = defining.clone(),
                    None => continue,
                }
            }
            if from != to {
                graphs
                    .entry(parent.clone())
                    .or_default()
                    .entry(from.clone())
                    .or_default()
                    .insert(to.clone());
                witness
                    .entry((parent, from, to))
                    .or_insert_with(|| format!("{} names {path}", s.file));
            }
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in &graphs {
        for (from, tos) in graph {
            for to in tos {
                if reaches(graph, to, from, &mut BTreeSet::new()) {
                    let key = (parent.clone(), from.clone(), to.clone());
                    found.push(format!(
                        "{krate}: in `{}`, {from} → {to} and back ({})",
                        if parent.is_empty() {
                            "crate".to_string()
                        } else {
                            parent.join("::")
                        },
                        witness[&key]
                    ));
                }
            }
        }
    }
    found
}

fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    goal: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    if from == goal {
        return true;
    }
    if !seen.insert(from.to_string()) {
        return false;
    }
    graph
        .get(from)
        .is_some_and(|tos| tos.iter().any(|t| reaches(graph, t, goal, seen)))
}

#[test]
fn no_two_modules_import_each_other() {
    let mut found = Vec::new();
    for krate in ["gateway-sim", "loadgen", "tests"] {
        found.extend(circles(krate, &sources(krate)));
    }
    assert!(
        found.is_empty(),
        "import circles (each edge with one place that makes it):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_circle_finder_finds_a_circle() {
    // The check above must be able to fail: two modules that name each other are found.
    let a = Source {
        file: "a.rs".into(),
        module: vec!["a".into()],
        code: "use crate::b::B;\n".into(),
    };
    let b = Source {
        file: "b.rs".into(),
        module: vec!["b".into()],
        code: "pub struct B;\nfn f() { crate::a::g(); }\n".into(),
    };
    let found = circles("demo", &[a, b]);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("a → b"), "{found:?}");
    // Through a parent's re-export: `super::Thing` where the parent has `pub use b::Thing`.
    let parent = Source {
        file: "p/mod.rs".into(),
        module: vec!["p".into()],
        code: "mod a;\nmod b;\npub use b::Thing;\n".into(),
    };
    let a = Source {
        file: "p/a.rs".into(),
        module: vec!["p".into(), "a".into()],
        code: "use super::Thing;\n".into(),
    };
    let b = Source {
        file: "p/b.rs".into(),
        module: vec!["p".into(), "b".into()],
        code: "pub struct Thing;\nuse super::a::helper;\n".into(),
    };
    assert_eq!(circles("demo", &[parent, a, b]).len(), 2);
    let mut tree = Vec::new();
    expand_tree("", "super::{x::{Y, Z}, w}", &mut tree);
    assert_eq!(tree, ["super::x::Y", "super::x::Z", "super::w"]);
}
