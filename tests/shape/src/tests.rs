//! The reader checked on small sources whose answers are known, so that a rule the
//! codebase passes is one the reader could have failed.

use super::*;

fn dir_with(files: &[(&str, &str)]) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "alerter-shape-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn comments_strings_and_chars_are_blanked_but_lines_kept() {
    let src =
        "fn a() { let s = \"}{\"; let c = '}'; } // }\n/* { /* } */ */ fn b<'x>() {}\nr#\"{\"#";
    let code = code_only(src);
    assert_eq!(code.lines().count(), src.lines().count());
    assert!(!code.contains("//") && !code.contains("/*"));
    assert_eq!(code.matches('{').count(), 2, "{code}");
    assert_eq!(code.matches('}').count(), 2, "{code}");
    assert!(code.contains("<'x>"), "a lifetime is code: {code}");
}

#[test]
fn functions_are_measured_from_fn_to_their_closing_brace() {
    let mut src = String::from("fn short() {}\n\nfn long(a: [u8; 2]) -> u8 {\n");
    for _ in 0..10 {
        src.push_str("    let _ = \"}\";\n");
    }
    src.push_str("    0\n}\ntrait T { fn declared(); }\n");
    let found = functions(&code_only(&src));
    let by_name = |n: &str| found.iter().find(|f| f.name == n).cloned();
    assert_eq!(by_name("short").map(|f| f.lines), Some(1));
    assert_eq!(
        by_name("long").map(|f| (f.line, f.lines)),
        Some((3, 13)),
        "{found:?}"
    );
    assert_eq!(by_name("declared"), None, "no body, nothing to measure");
}

#[test]
fn tests_are_left_out() {
    let src =
        "fn kept() {}\n#[cfg(test)]\nmod tests {\n fn gone() {}\n}\n#[test]\nfn also_gone() {}\n";
    let names: Vec<String> = functions(&without_tests(&code_only(src)))
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["kept"]);
    assert_eq!(
        test_modules(
            "a",
            "#[cfg(test)]\npub(crate) mod fake;\n#[cfg(test)] mod tests;"
        ),
        ["a::fake", "a::tests"]
    );
}

#[test]
fn use_trees_expand_and_paths_resolve_to_modules() {
    let code =
        code_only("use crate::{a::{X, b::Y}, c as d};\nfn f() { super::e::g(); child::h(); }");
    let found = paths(&code);
    let s = |p: &[&str]| p.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
    for want in [
        s(&["crate", "a", "X"]),
        s(&["crate", "a", "b", "Y"]),
        s(&["crate", "c"]),
    ] {
        assert!(found.contains(&want), "{want:?} in {found:?}");
    }
    let modules: BTreeSet<String> = ["", "a", "a::b", "c", "m", "m::child", "e"]
        .into_iter()
        .map(String::from)
        .collect();
    let r = |from: &str, p: &[&str]| resolve(from, &s(p), &modules, &["my_crate"]);
    assert_eq!(r("m", &["crate", "a", "b", "Y"]).as_deref(), Some("a::b"));
    assert_eq!(r("m", &["my_crate", "a", "X"]).as_deref(), Some("a"));
    assert_eq!(
        r("m::child", &["super", "super", "e", "g"]).as_deref(),
        Some("e")
    );
    assert_eq!(r("m", &["child", "h"]).as_deref(), Some("m::child"));
    assert_eq!(r("m", &["std", "fmt"]), None, "another crate");
}

#[test]
fn a_circle_is_found_and_a_child_using_its_parent_is_not_one() {
    let dir = dir_with(&[
        ("lib.rs", "mod a; mod b; mod c; mod p;"),
        ("a.rs", "use crate::b::X;"),
        ("b.rs", "pub fn f() { crate::c::g(); }"),
        ("c.rs", "use super::a;"),
        ("p.rs", "mod kid; pub struct S; fn f() { kid::g(); }"),
        ("p/kid.rs", "use super::S;"),
    ]);
    let graph = module_graph(&dir, &[]);
    assert_eq!(circles(&graph), [vec!["a", "b", "c"]], "{graph:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn test_only_modules_are_not_in_the_graph() {
    let dir = dir_with(&[
        ("lib.rs", "mod a;\nmod b;\n#[cfg(test)]\nmod fake;"),
        ("b.rs", "#[cfg(test)]\n#[path = \"b_tests.rs\"]\nmod tests;"),
        ("b_tests.rs", "use crate::a::f;"),
        (
            "a.rs",
            "pub fn f() {}\n#[cfg(test)]\nmod tests { use crate::fake; }",
        ),
        ("fake.rs", "use crate::a::f;"),
    ]);
    let graph = module_graph(&dir, &[]);
    assert!(circles(&graph).is_empty(), "{graph:?}");
    assert!(!graph.contains_key("fake"), "{graph:?}");
    assert!(!graph.contains_key("b_tests"), "{graph:?}");
    assert!(graph.contains_key("b"), "{graph:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
