//! Reading Rust sources for the shape rules that `tests/shape.rs` holds the codebase to: how
//! long each function is, which of a crate's modules use which, and the circles among them.
//!
//! No parser: the sources are first reduced to code alone ([`code_only`]: comments, strings
//! and character literals blanked, lines kept), which is all that brace matching and path
//! scanning need. What this cannot see: modules declared with `#[path]`, and paths built by
//! macros. Neither is used in this codebase.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `src` with every comment, string literal and character literal replaced by spaces (line
/// breaks kept), so braces and `::` in them are not mistaken for code.
pub fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if let Some(end) = raw_string_end(b, i) {
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let end = quoted_end(b, i + 1, b'"');
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'\'' {
            // A character literal ('x', '\n', '\u{1F600}', 'é') or a lifetime ('a, 'static).
            let end = char_literal_end(src, i);
            if let Some(end) = end {
                blank(&mut out, i, end);
                i = end;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    // Only ASCII bytes were replaced by ASCII spaces inside literals and comments, but a
    // multi-byte character there is blanked byte by byte: still valid UTF-8 (all spaces).
    String::from_utf8(out).unwrap_or_default()
}

/// The end (exclusive) of a raw string (`r"..."`, `r#"..."#`, `br##"..."##`) starting at `i`.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let starts_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
    if !starts_word {
        return None;
    }
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    j += hashes;
    if b.get(j) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = j + 1;
    let end = b[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map_or(b.len(), |n| body + n + close.len());
    Some(end)
}

/// The end (exclusive) of a literal closed by `quote`, from just after its opening quote.
fn quoted_end(b: &[u8], mut j: usize, quote: u8) -> usize {
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The end (exclusive) of the character literal at `i`, or `None` if `'` opens a lifetime.
fn char_literal_end(src: &str, i: usize) -> Option<usize> {
    let rest = &src[i + 1..];
    let mut chars = rest.char_indices();
    let (_, first) = chars.next()?;
    if first == '\\' {
        return Some(quoted_end(src.as_bytes(), i + 1, b'\''));
    }
    let (at, next) = chars.next()?;
    (next == '\'').then_some(i + 1 + at + 1)
}

/// The index just past the `}` matching the `{` at `open` in `code`.
fn block_end(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Where the item starting at `from` has its body: the index of its `{`, or `None` when a `;`
/// at nesting depth 0 (outside `()` and `[]`) ends it first (`mod x;`, `fn f();`).
fn body_open(code: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (j, &c) in code.iter().enumerate().skip(from) {
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'{' if depth == 0 => return Some(j),
            b';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// Whether `word` stands at `i` in `code` as a whole word.
fn word_at(code: &[u8], i: usize, word: &[u8]) -> bool {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    code[i..].starts_with(word)
        && (i == 0 || !is_ident(code[i - 1]))
        && code.get(i + word.len()).is_none_or(|&c| !is_ident(c))
}

/// `code` (from [`code_only`]) with every item under `#[cfg(test)]` or `#[test]` blanked:
/// what the crate is without its tests.
pub fn without_tests(code: &str) -> String {
    let b = code.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        let attr = [&b"#[cfg(test)]"[..], b"#[test]"]
            .into_iter()
            .find(|a| b[i..].starts_with(a));
        let Some(attr) = attr else {
            i += 1;
            continue;
        };
        let end = match body_open(b, i + attr.len()) {
            Some(open) => block_end(b, open),
            None => b[i..]
                .iter()
                .position(|&c| c == b';')
                .map_or(b.len(), |n| i + n + 1),
        };
        for c in &mut out[i..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        i = end;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A function found in a source: its name, the line its `fn` is on (from 1) and its length in
/// lines, from that line to the one with its closing brace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The function's name.
    pub name: String,
    /// The line of its `fn` keyword, counting from 1.
    pub line: usize,
    /// Lines from the `fn` line to the closing brace, both included.
    pub lines: usize,
}

/// Every function with a body in `code` (from [`code_only`]), nested ones included.
pub fn functions(code: &str) -> Vec<Function> {
    let b = code.as_bytes();
    let line_of = |i: usize| b[..i].iter().filter(|&&c| c == b'\n').count() + 1;
    let mut found = Vec::new();
    for i in 0..b.len() {
        if !word_at(b, i, b"fn") {
            continue;
        }
        let name: String = code[i + 2..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue; // `fn(u8) -> u8`, a function pointer type
        }
        if let Some(open) = body_open(b, i) {
            let end = block_end(b, open);
            let line = line_of(i);
            found.push(Function {
                name,
                line,
                lines: line_of(end.saturating_sub(1)) - line + 1,
            });
        }
    }
    found
}

/// The module path of a file under a crate's source directory: `lib.rs` and `main.rs` are the
/// root (`""`), `a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`.
pub fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        let is_root = parts.is_empty() && (stem == "lib" || stem == "main");
        if stem != "mod" && !is_root {
            parts.push(stem.to_string());
        }
    }
    parts.join("::")
}

/// Every path written in `code`: each `use` tree expanded (`use a::{b, c::d}` gives `a::b` and
/// `a::c::d`), and each `x::y...` outside `use`, as segments.
pub fn paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    let mut rest = String::new();
    while i < b.len() {
        if word_at(b, i, b"use") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b';')
                .map_or(b.len(), |n| i + n);
            expand_use(&code[i + 3..end], &[], &mut found);
            rest.push_str(&" ".repeat(end - i));
            i = end;
        } else {
            rest.push(b[i] as char);
            i += 1;
        }
    }
    // Outside `use`: runs of `ident::ident::...` not preceded by `::`.
    let tokens = split_tokens(&rest);
    let mut k = 0;
    while k < tokens.len() {
        if is_ident(&tokens[k]) && (k == 0 || tokens[k - 1] != "::") {
            let mut path = vec![tokens[k].clone()];
            let mut j = k + 1;
            while j + 1 < tokens.len() && tokens[j] == "::" && is_ident(&tokens[j + 1]) {
                path.push(tokens[j + 1].clone());
                j += 2;
            }
            if path.len() > 1 {
                found.push(path);
            }
            k = j;
        } else {
            k += 1;
        }
    }
    found
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// `text` as identifiers, `::` and single punctuation characters.
fn split_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

/// Expand one `use` tree (the text between `use` and `;`) under `prefix` into `out`.
fn expand_use(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let (head, group) = match tree.find('{') {
        Some(open) => {
            let close = tree.rfind('}').unwrap_or(tree.len());
            (&tree[..open], Some(&tree[open + 1..close]))
        }
        None => (tree, None),
    };
    let mut path = prefix.to_vec();
    for seg in head.split("::").map(str::trim).filter(|s| !s.is_empty()) {
        let seg = seg.split_whitespace().next().unwrap_or(seg); // `x as y`
        if seg != "*" && seg != "self" {
            path.push(seg.to_string());
        }
    }
    match group {
        None => out.push(path),
        Some(group) => {
            for part in split_top_level(group) {
                expand_use(part, &path, out);
            }
        }
    }
}

/// `text` split at the commas outside braces.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// The module `path`, written in module `from`, refers to, among `modules`: the longest
/// known prefix of the path it resolves to. `None` for other crates' paths and local items.
/// `crate_names` are the names the crate calls itself by (its library name, from its binary).
pub fn resolve(
    from: &str,
    path: &[String],
    modules: &BTreeSet<String>,
    crate_names: &[&str],
) -> Option<String> {
    let mut base: Vec<&str> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").collect()
    };
    let first = path.first()?.as_str();
    let mut rest = path;
    if first == "crate" || crate_names.contains(&first) {
        base.clear();
        rest = &path[1..];
    } else if first == "super" || first == "self" {
        while let Some(seg) = rest.first() {
            match seg.as_str() {
                "super" => {
                    base.pop()?;
                }
                "self" => {}
                _ => break,
            }
            rest = &rest[1..];
        }
    } else {
        let child = join(&base, &[first]);
        if !modules.contains(&child) {
            return None;
        }
    }
    let segs: Vec<&str> = rest.iter().map(String::as_str).collect();
    (0..=segs.len())
        .rev()
        .map(|k| join(&base, &segs[..k]))
        .find(|m| modules.contains(m))
}

fn join(base: &[&str], more: &[&str]) -> String {
    base.iter()
        .chain(more)
        .copied()
        .collect::<Vec<_>>()
        .join("::")
}

/// Whether module `a` is `b` or one of `b`'s ancestors.
fn is_ancestor_or_self(a: &str, b: &str) -> bool {
    a.is_empty() || a == b || b.starts_with(&format!("{a}::"))
}

/// The modules that `code` (from [`code_only`], of module `from`) declares under
/// `#[cfg(test)]` (`#[cfg(test)] mod tests;`): they and everything in them are tests.
pub fn test_modules(from: &str, code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in code.match_indices("#[cfg(test)]") {
        let after = &code[i + "#[cfg(test)]".len()..];
        let item = after.split([';', '{']).next().unwrap_or("");
        let words: Vec<&str> = item.split_whitespace().collect();
        if let [.., "mod", name] = words.as_slice() {
            found.push(if from.is_empty() {
                (*name).to_string()
            } else {
                format!("{from}::{name}")
            });
        }
    }
    found
}

/// A crate's source files, each with its module path, leaving out test-only modules (see
/// [`test_modules`]) and everything under them.
pub fn crate_modules(src_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    let mut modules: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|f| Some((module_of(f.strip_prefix(src_dir).ok()?), f)))
        .collect();
    let mut tests: Vec<String> = Vec::new();
    let mut test_files: Vec<PathBuf> = Vec::new();
    for (m, f) in &modules {
        let src = std::fs::read_to_string(f).unwrap_or_default();
        test_files.extend(test_module_files(f, &src));
        tests.extend(test_modules(m, &code_only(&src)));
    }
    modules.retain(|(m, f)| {
        !test_files.contains(f) && !tests.iter().any(|t| is_ancestor_or_self(t, m))
    });
    modules
}

/// The files that `src` (the text of `file`) declares as test modules with a `#[path]`
/// (`#[cfg(test)] #[path = "pacer_tests.rs"] mod tests;`), as paths beside `file`. Read from
/// the source, not from [`code_only`], which blanks the path's string.
pub fn test_module_files(file: &Path, src: &str) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new(""));
    src.match_indices("#[cfg(test)]")
        .filter_map(|(i, _)| {
            let after = &src[i + "#[cfg(test)]".len()..];
            let path = after.trim_start().strip_prefix("#[path = \"")?;
            let (path, _) = path.split_once('"')?;
            Some(dir.join(path))
        })
        .collect()
}

/// The modules of the crate whose sources are under `src_dir`, each with the modules it uses
/// outside its tests. A module's use of its own ancestors is left out (a child reaching into
/// its parent with `super::` is how Rust modules work); every other use is an edge.
pub fn module_graph(src_dir: &Path, crate_names: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let files = crate_modules(src_dir);
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, file) in &files {
        let from = from.clone();
        let src = std::fs::read_to_string(file).unwrap_or_default();
        let code = without_tests(&code_only(&src));
        let uses = graph.entry(from.clone()).or_default();
        for path in paths(&code) {
            if let Some(to) = resolve(&from, &path, &modules, crate_names) {
                if !is_ancestor_or_self(&to, &from) {
                    uses.insert(to);
                }
            }
        }
    }
    graph
}

/// The circles in `graph`: its strongly connected components of more than one module, each
/// sorted, found by Tarjan's algorithm.
pub fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

/// Every `.rs` file under `dir`, recursively, skipping build output and dependencies.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let skip = matches!(
            name.as_deref(),
            Some("target" | ".git" | "node_modules" | ".venv" | "venv")
        );
        if path.is_dir() && !skip {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests;
