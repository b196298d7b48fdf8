//! Where a runtime's native code comes from: the artifact built into the binary when the
//! running engine and CPU accept it, else the compile cache.
//!
//! The compile cache: a compiled component (native code) is kept on disk, keyed by a SHA-256
//! of the component's bytes and the engine's compatibility hash (wasmtime version and
//! settings), so later runs skip Cranelift. Since the file is native code, it is loaded only
//! if it is a regular file and it and its directory belong to this user and nobody else can
//! write them; it is written only into such a directory, through an exclusively created
//! temporary file that follows no symlink.

use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

use super::CodeSource;

/// Where compiled components are cached: `$ALERTER_CACHE_DIR`, else `$XDG_CACHE_HOME/alerter`,
/// else `~/.cache/alerter`. `None` (an empty `ALERTER_CACHE_DIR`) disables the cache.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ALERTER_CACHE_DIR") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("alerter"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("alerter"))
}

/// The native code for a component, from the first source that has it: the compile cache in
/// `dir` (mapped from disk, so only the code that runs is paged in), `precompiled` (the build's
/// artifact for `bytes`, or empty) if wasmtime accepts it for this engine and CPU, else a fresh
/// compile. Either of the last two is written to the cache for the next run. `dir` is
/// [`cache_dir`] in the runtime; `None` means no cache.
pub fn load(
    engine: &Engine,
    bytes: &[u8],
    precompiled: &[u8],
    dir: Option<&Path>,
) -> anyhow::Result<(Component, CodeSource)> {
    let path = dir.map(|d| d.join(format!("{}.cwasm", key(engine, bytes))));
    if let (Some(dir), Some(path)) = (dir, &path) {
        if private_file(path) && private_to_us(dir) {
            // SAFETY: the file was written by `serialize` (or is the build's artifact) for an
            // engine with the same compatibility hash (both are in its name), it is a regular
            // file (not a link), and it and its directory are owned by this user and writable
            // by nobody else.
            if let Ok(c) = unsafe { Component::deserialize_file(engine, path) } {
                return Ok((c, CodeSource::Cache));
            }
        }
    }
    let (component, code, serialized) = match precompiled_for(engine, precompiled) {
        Some(c) => (c, CodeSource::Precompiled, None),
        None => {
            let c = Component::new(engine, bytes)?;
            let s = c.serialize().ok();
            (c, CodeSource::Compiled, s)
        }
    };
    if let (Some(dir), Some(path)) = (dir, &path) {
        // A cache that cannot be written only costs the next run a load or a compile.
        let data = serialized.as_deref().unwrap_or(precompiled);
        let _ = write_private(dir, path, data);
    }
    Ok((component, code))
}

/// The build's artifact, if there is one and wasmtime accepts it for `engine`.
fn precompiled_for(engine: &Engine, precompiled: &[u8]) -> Option<Component> {
    if precompiled.is_empty() {
        return None;
    }
    // SAFETY: `precompiled` is the build script's `Engine::precompile_component` of the
    // component, embedded in this binary (nothing outside can change it). wasmtime checks its
    // version, settings and CPU features against this engine and refuses a mismatch, which
    // falls through to a compile.
    unsafe { Component::deserialize(engine, precompiled) }.ok()
}

/// The cache file's name: SHA-256 of the component and of the engine's compatibility hash
/// (wasmtime version and settings), so no other component or engine can claim the slot.
fn key(engine: &Engine, bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    use std::hash::{Hash, Hasher};
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let digest = Sha256::new()
        .chain_update(bytes)
        .chain_update(compat.finish().to_le_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether this user owns `path` (not following a symlink) and nobody else can write it.
fn private_to_us(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == me && m.mode() & 0o022 == 0)
}

/// A regular file (not a symlink), private to this user.
fn private_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) && private_to_us(path)
}

/// Write `data` to `path` atomically, 0600, only into a directory private to this user (made
/// 0700 if missing). The temporary file has an unpredictable name and is created exclusively
/// without following symlinks (`fsguard::write_private`, as for the home's files), so nothing
/// planted in the directory can redirect the write.
fn write_private(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    if !private_to_us(dir) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is not private to this user", dir.display()),
        ));
    }
    crate::fsguard::write_private(dir, path, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("alerter-cache-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_only_into_a_directory_nobody_else_can_write() {
        let dir = scratch("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let path = dir.join("k.cwasm");
        assert!(write_private(&dir, &path, b"code").is_err());
        assert!(!path.exists());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        write_private(&dir, &path, b"code").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"code");
        assert!(private_file(&path));
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_planted_symlink_is_neither_loaded_nor_followed() {
        let dir = scratch("link");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let path = dir.join("k.cwasm");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        assert!(!private_file(&path), "a link is not a cache entry");
        write_private(&dir, &path, b"code").unwrap();
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"precious",
            "the link's target is untouched"
        );
        assert!(
            private_file(&path),
            "the link was replaced by a regular file"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_key_is_a_sha256_of_the_component_and_the_engine() {
        let engine = Engine::default();
        let a = key(&engine, b"component a");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, key(&engine, b"component b"));
        assert_eq!(a, key(&engine, b"component a"));
    }
}
