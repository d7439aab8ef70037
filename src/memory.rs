//! Gives memory freed after a burst back to the system. SQLite allocates through the C
//! library, whose per-thread arenas keep freed memory until they are trimmed.

/// Returns the C allocator's free memory to the system (glibc; elsewhere nothing to do).
#[allow(unsafe_code)]
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks the allocator's own free lists,
    // under the allocator's locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims every `period`, for the life of the process; off the async threads, as a trim of
/// large arenas takes a few milliseconds.
pub async fn trim_every(period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}
