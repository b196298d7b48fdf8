// Shared by the build scripts (`include!`d): build a workspace package as a wasm32-wasip2
// component with the size-tuned `guest` profile, in its own target directory so the nested
// cargo never waits on the outer build's lock, and return the path of the .wasm file, its
// custom sections stripped.

/// Build `package` (a cdylib in this workspace) and return the path of its component without
/// custom sections (`target/guest/.../<lib>.stripped.wasm`, see [`strip_custom_sections`]).
fn build_component(root: &std::path::Path, package: &str, lib_name: &str) -> std::path::PathBuf {
    let target_dir = root.join("target").join("guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", package, "--profile", "guest"])
        .args(["--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the component build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .status()
        .unwrap_or_else(|e| panic!("failed to run cargo for {package}: {e}"));
    assert!(
        status.success(),
        "building {package} for wasm32-wasip2 failed; is the target installed? \
         run `rustup target add wasm32-wasip2` (the README's commands do)"
    );
    strip_custom_sections(&target_dir.join(format!("wasm32-wasip2/guest/{lib_name}.wasm")))
}

/// Write `wasm` without the custom sections of the component and of its core modules (the
/// `component-name` debug names, some 10 KB, and `producers`; no runtime reads them) as
/// `<name>.stripped.wasm` beside it, and return that path. `strip = true` in the profile
/// strips the core module's names; the component linker adds these afterwards.
fn strip_custom_sections(wasm: &std::path::Path) -> std::path::PathBuf {
    let bytes = std::fs::read(wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    let stripped = without_custom_sections(&bytes, true)
        .unwrap_or_else(|| panic!("{} is not a well-formed wasm binary", wasm.display()));
    let dest = wasm.with_extension("stripped.wasm");
    std::fs::write(&dest, stripped).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
    dest
}

/// `binary` (a component or a core module) with its top-level custom sections (id 0) left
/// out; in a component, the core modules (id 1) are stripped the same way. `None` if the
/// sections do not parse.
fn without_custom_sections(binary: &[u8], component: bool) -> Option<Vec<u8>> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            shift += 7;
        }
    }
    fn push_leb(out: &mut Vec<u8>, mut value: usize) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let header = binary.get(..8)?;
    if &header[..4] != b"\0asm" {
        return None;
    }
    let mut out = header.to_vec();
    let mut at = 8;
    while at < binary.len() {
        let id = binary[at];
        at += 1;
        let len = leb(binary, &mut at)?;
        let body = binary.get(at..at.checked_add(len)?)?;
        at += len;
        match id {
            0 => {}
            1 if component => {
                let module = without_custom_sections(body, false)?;
                out.push(1);
                push_leb(&mut out, module.len());
                out.extend_from_slice(&module);
            }
            _ => {
                out.push(id);
                push_leb(&mut out, len);
                out.extend_from_slice(body);
            }
        }
    }
    Some(out)
}

/// The workspace root, one level above the crate being built.
fn workspace_root() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}
