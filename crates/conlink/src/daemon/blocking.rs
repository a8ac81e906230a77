//! Blocking subprocess calls (nft, ovs-vsctl with its 10 s timeout) run without
//! stalling the async runtime: on the multi-threaded runtime the worker hands its other
//! tasks (signals, the control socket, events) to another thread first.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which may block for seconds, off the runtime's task queue.
pub fn off_runtime<R>(f: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        // Outside a runtime, or on a current-thread one (tests), there is nothing to hand over.
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn other_tasks_run_while_a_blocking_call_does() {
        // One worker: without the hand-over the ticker could not run until the call ends.
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async {
            let done = Arc::new(AtomicBool::new(false));
            let d = done.clone();
            let blocking = tokio::spawn(async move {
                off_runtime(|| std::thread::sleep(Duration::from_millis(800)));
                d.store(true, Ordering::SeqCst);
            });
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!done.load(Ordering::SeqCst), "the ticker ran only after the blocking call");
            blocking.await.unwrap();
            assert!(done.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn outside_a_runtime_it_just_runs() {
        assert_eq!(off_runtime(|| 7), 7);
    }
}
