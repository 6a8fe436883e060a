//! Embeds Apache ECharts (`web/node_modules/echarts/dist/echarts.min.js`, installed by `npm ci --prefix web`) into the server when it is installed, and builds without it otherwise: pages then keep their server-rendered SVG charts only. Writes `$OUT_DIR/echarts.rs` (`ECHARTS: Option<Library>`) for `web/assets.rs`.
//!
//! Cargo reruns a build script on every build when a path it watches does not exist, which would
//! rebuild this crate every time; so it watches only paths that exist: the lock file always,
//! and the installed package when there is one, else the `web` folder (whose listing changes
//! when `npm ci` creates `node_modules`).

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let web = manifest.join("..").join("..").join("web");
    let library = web.join("node_modules").join("echarts").join("dist").join("echarts.min.js");
    watch(&web.join("package-lock.json"));
    let code = match fs::read(&library) {
        Ok(bytes) => {
            watch(&library);
            watch(&web.join("node_modules").join(".package-lock.json"));
            fs::write(out.join("echarts.min.js"), &bytes).expect("write echarts.min.js to OUT_DIR");
            format!(
                "/// Apache ECharts, embedded by build.rs.\nconst ECHARTS: Option<Library> = Some(Library {{ hash: {:#018x}, body: include_str!(concat!(env!(\"OUT_DIR\"), \"/echarts.min.js\")) }});\n",
                fnv1a(&bytes)
            )
        }
        Err(_) => {
            watch(&web);
            println!(
                "cargo::warning=web/node_modules has no echarts: the web UI's charts stay SVG only (run `npm ci --prefix web` for interactive charts)"
            );
            "/// Built without Apache ECharts (web/node_modules had none).\nconst ECHARTS: Option<Library> = None;\n".to_string()
        }
    };
    fs::write(out.join("echarts.rs"), code).expect("write echarts.rs to OUT_DIR");
}

/// Reruns this script when `path` changes; only for paths that exist (see the module's note).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
