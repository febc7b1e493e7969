// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// The refresh reads rows on one thread and judges and frees them on another, as the CLI
/// does: mimalloc frees across threads without glibc's contention (see riskdesk-cli).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    riskdesk_core::process::prefer_small_pages();
    riskdesk_app::run();
}
