//! A one-bit wake-up a future can wait for. Pure (std only), so it is tested
//! natively.
//!
//! The page-lifecycle listeners raise a watch's signals ("check now", "the
//! page was suspended or resumed"); the transports wait for them inside their
//! `poll_fn` loops. Raises that come before anyone waits are kept, and many
//! raises before a wait count as one: a burst of `visibilitychange`, `focus`
//! and `online` makes one check, not three.

use std::cell::Cell;
use std::task::{Context, Waker};

/// A signal is waited for by one task: the watch's, whose futures all run
/// in it (the page-lifecycle signals, the tab channel's inbox), or the one
/// that holds a timer. A raise wakes the task that waited last.
#[derive(Default)]
pub struct Signal {
    raised: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Signal {
    /// Raises the signal and wakes the task waiting for it.
    pub fn raise(&self) {
        self.raised.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Lowers the signal without waking anyone: what it asked for is done.
    pub fn clear(&self) {
        self.raised.set(false);
    }

    /// Whether the signal was raised, lowering it; either way the task of
    /// `cx` is woken by the next raise. For use inside a `poll_fn`.
    pub fn take(&self, cx: &mut Context<'_>) -> bool {
        let waker = match self.waker.take() {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        };
        self.waker.set(Some(waker));
        self.raised.replace(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Poll;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(signal: &Signal, waker: &Waker) -> Poll<()> {
        if signal.take(&mut Context::from_waker(waker)) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    #[test]
    fn raises_are_kept_until_waited_for_and_coalesce() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let s = Signal::default();
        assert_eq!(poll(&s, &waker), Poll::Pending);
        assert_eq!(poll(&s, &waker), Poll::Pending);
        let held = s.waker.take();
        assert!(
            held.as_ref().is_some_and(|w| w.will_wake(&waker)),
            "one waker, however often polled"
        );
        s.waker.set(held);
        s.raise();
        s.raise();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");
        assert_eq!(poll(&s, &waker), Poll::Ready(()));
        assert_eq!(poll(&s, &waker), Poll::Pending, "two raises, one wake-up");
        s.raise();
        s.clear();
        assert_eq!(poll(&s, &waker), Poll::Pending, "cleared");
    }
}
