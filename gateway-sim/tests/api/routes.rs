//! The paths the server routes, read from the routers' own source: the native door's match in
//! `src/api/native/mod.rs` (`find_route`) and the control plane's in `src/control/mod.rs`
//! (`handle`). Read rather than listed by hand, so a route added to either router shows up
//! here at once, and `openapi.rs` fails until the document has it. (Which methods each path
//! takes is asked of the server itself, from the `Allow` header of a 405.)
//!
//! A path is a template: `/v1/payments/{}/capture`, with `{}` for a segment that names
//! something (an id, a key). An arm this reader does not recognise fails the test, so the
//! routers cannot change shape under it unnoticed.

use std::collections::BTreeSet;
use std::path::Path;

/// Every path the native door and the control plane route.
pub fn server_paths() -> BTreeSet<String> {
    let mut paths = native_paths(&source("src/api/native/mod.rs"));
    paths.extend(control_paths(&source("src/control/mod.rs")));
    paths
}

fn source(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `["v1", "payments", id, "capture"] => ...` arms: literals are segments, bindings are `{}`.
/// The arms that hand a request to the Stripe door name paths the native door also has.
fn native_paths(source: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for arm in match_arms(source, "fn find_route", "match segments.as_slice() {") {
        if arm.starts_with("_ =>") {
            continue;
        }
        let pattern = arm
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .map(|(inside, _)| inside)
            .unwrap_or_else(|| panic!("a native route arm this test cannot read: {arm}"));
        let segments: Vec<String> = pattern
            .split(',')
            .map(|segment| match segment.trim().strip_prefix('"') {
                Some(literal) => literal.trim_end_matches('"').to_string(),
                None => "{}".to_string(),
            })
            .collect();
        paths.insert(format!("/{}", segments.join("/")));
    }
    paths
}

/// `"/_sim/stats" => ...` arms, and `_ if path.starts_with("/_sim/x/") => ...` for a path that
/// ends with a name.
fn control_paths(source: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for arm in match_arms(source, "pub async fn handle", "match path {") {
        if arm.starts_with("_ =>") {
            continue;
        }
        if let Some(rest) = arm.strip_prefix("_ if path.starts_with(\"") {
            // `_ if path.starts_with("/a/") => ` or `... && path.ends_with("/b") => `.
            let (prefix, rest) = rest.split_once('"').unwrap_or_else(|| unreadable(arm));
            let suffix = match rest.split_once("path.ends_with(\"") {
                Some((_, tail)) => tail.split_once('"').unwrap_or_else(|| unreadable(arm)).0,
                None => "",
            };
            paths.insert(format!("{prefix}{{}}{suffix}"));
        } else if arm.starts_with('"') {
            // `"/a" => ` or `"/a" | "/b" => `: every literal before the arrow.
            let (patterns, _) = arm.split_once("=>").unwrap_or_else(|| unreadable(arm));
            for literal in patterns.split('|') {
                let literal = literal.trim();
                let path = literal
                    .strip_prefix('"')
                    .and_then(|l| l.strip_suffix('"'))
                    .unwrap_or_else(|| unreadable(arm));
                paths.insert(path.to_string());
            }
        } else {
            unreadable(arm);
        }
    }
    paths
}

fn unreadable(arm: &str) -> ! {
    panic!("a control route arm this test cannot read: {arm}")
}

/// The arms (trimmed first lines containing `=>`) directly inside the first `opening` (a
/// `match ... {` line) after `function`; arms of matches nested in them are not included.
fn match_arms<'a>(source: &'a str, function: &str, opening: &str) -> Vec<&'a str> {
    let start = source
        .find(function)
        .and_then(|f| source[f..].find(opening).map(|m| f + m + opening.len()))
        .unwrap_or_else(|| panic!("no `{opening}` after `{function}`: the router changed shape"));
    let mut depth = 1;
    let mut arms = Vec::new();
    for line in source[start..].lines() {
        let line = line.trim();
        if depth == 1 && line.contains("=>") {
            arms.push(line);
        }
        depth += brace_balance(line);
        if depth <= 0 {
            return arms;
        }
    }
    panic!("the `{opening}` after `{function}` never closes")
}

/// Opening minus closing braces on a line, outside string literals.
fn brace_balance(line: &str) -> i32 {
    let mut balance = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => balance += 1,
            '}' if !in_string => balance -= 1,
            _ => {}
        }
    }
    balance
}

#[test]
fn the_reader_finds_routes_of_both_shapes_and_skips_nested_arms() {
    let native = r#"
fn find_route() {
    let x = match segments.as_slice() {
        ["v1", "payments"] => (
            "GET, POST",
            Some(if post { Op::Create } else { Op::List }),
        ),
        ["v1", "events", id] if stripe(id) => ("", None),
        ["v1", "events", id] => ("GET", Some(Op::Event(id))),
        _ => ("", None),
    };
}"#;
    assert_eq!(
        native_paths(native).into_iter().collect::<Vec<_>>(),
        ["/v1/events/{}", "/v1/payments"]
    );
    let control = r#"
pub async fn handle() {
    match path {
        "/_sim/health" => match *method {
            Method::GET => json("{not a brace"),
            _ => allowed("GET"),
        },
        _ if path.starts_with("/_sim/resend/") => match *method {
            _ => allowed("POST"),
        },
        _ if path.starts_with("/_sim/s/") && path.ends_with("/go") => {
            match *method {
                _ => allowed("POST"),
            }
        }
        "/_sim/ui" | "/_sim/ui/app.js" => match *method {
            _ => allowed("GET"),
        },
        _ => unknown(),
    }
}"#;
    assert_eq!(
        control_paths(control).into_iter().collect::<Vec<_>>(),
        [
            "/_sim/health",
            "/_sim/resend/{}",
            "/_sim/s/{}/go",
            "/_sim/ui",
            "/_sim/ui/app.js"
        ]
    );
}
