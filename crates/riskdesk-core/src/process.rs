//! Settings of the process that runs the library (the app, the command line).

/// Turns off transparent huge pages for this process (Linux). mimalloc asks the kernel for
/// huge pages on its arenas, and a whole-book refresh allocates a batch's facts on one
/// thread and frees them on another, so the kernel zeroed a fresh 2 MB page where a few
/// KB were wanted: profiled on a 100K-account next day, `clear_page_erms` was 20 % of the
/// process's CPU (2.5 s of system time; 1.4 s with small pages). A no-op elsewhere.
pub fn prefer_small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: sets a flag of the process's memory map; it touches no Rust memory and
    // failing (an old kernel) leaves the process as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The flag is set, as the kernel reports it back.
    #[test]
    fn small_pages_are_preferred_once_asked() {
        super::prefer_small_pages();
        // SAFETY: reads the flag set above.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}
