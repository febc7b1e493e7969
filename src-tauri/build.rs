// tauri.conf.json lives at the workspace root (one config for the whole repository);
// tauri-build reads it from the current directory, so point that at the root.
fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("tauri.conf.json").display()
    );
    std::env::set_current_dir(&root).expect("workspace root is readable");
    tauri_build::build()
}
