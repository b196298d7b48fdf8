//! The compile cache: a compiled component (native code) is kept on disk, keyed by the
//! component's bytes and the engine's compatibility hash (wasmtime version and settings), so
//! later runs skip Cranelift. Since the file is native code, it is trusted only if it and its
//! directory belong to this user and nobody else can write them.

use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

/// Where compiled components are cached: `$ALERTER_CACHE_DIR`, else `$XDG_CACHE_HOME/alerter`,
/// else `~/.cache/alerter`. `None` (an empty `ALERTER_CACHE_DIR`) disables the cache.
fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ALERTER_CACHE_DIR") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("alerter"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("alerter"))
}

/// Compile a component, or load it precompiled from the cache. Returns whether the cache hit.
pub fn load(engine: &Engine, bytes: &[u8]) -> anyhow::Result<(Component, bool)> {
    use std::hash::{Hash, Hasher};
    let Some(dir) = cache_dir() else {
        return Ok((Component::new(engine, bytes)?, false));
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let path = dir.join(format!("{:016x}.cwasm", h.finish()));
    if path.is_file() && private_to_us(&dir) && private_to_us(&path) {
        // SAFETY: the file was written by `serialize` of an engine with the same compatibility
        // hash, and it and its directory are owned by this user and writable by nobody else.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok((c, true));
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Ok(serialized) = component.serialize() {
        // A cache that cannot be written only costs the next run a compile.
        let _ = write_private(&dir, &path, &serialized);
    }
    Ok((component, false))
}

/// Whether this user owns `path` and nobody else can write it.
fn private_to_us(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    std::fs::metadata(path).is_ok_and(|m| m.uid() == me && m.mode() & 0o022 == 0)
}

/// Write `data` to `path` atomically (temp file + rename), 0600 in a 0700 directory.
fn write_private(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    std::io::Write::write_all(&mut f, data)?;
    std::fs::rename(&tmp, path)
}
