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

/// Every `period`, for the life of the process: idle store connections give back their caches,
/// then the C allocator is trimmed, off the async threads (a trim of large arenas takes a few
/// milliseconds).
pub async fn release_every(service: crate::service::Service, period: std::time::Duration) {
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        if let Err(e) = service.release_memory().await {
            tracing::debug!(error = %e, "idle connections could not release their caches");
        }
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    fn resident_mb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kb = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1));
        kb.and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0) / 1024
    }

    #[test]
    fn trim_returns_what_a_thread_arena_kept() {
        // Tests run on the C library's allocator. Chunks under the mmap threshold, allocated
        // and freed on a thread of their own, stay in that thread's arena until trimmed; the
        // last one is kept alive so the arena's top cannot simply shrink on free.
        let keep = std::thread::spawn(|| {
            let chunks: Vec<Vec<u8>> = (0..1200).map(|i| vec![(i % 251) as u8; 100 * 1024]).collect();
            let last = chunks.last().cloned();
            drop(chunks);
            last
        })
        .join()
        .ok()
        .flatten();
        let before = resident_mb();
        super::trim();
        let after = resident_mb();
        assert!(keep.is_some());
        assert!(after + 60 <= before, "trim released too little: {before} MB before, {after} MB after");
    }
}
