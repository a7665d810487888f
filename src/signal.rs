//! A one-bit wake-up a future can wait for. Pure (std only), so it is tested
//! natively.
//!
//! The page-lifecycle listeners raise a watch's signals ("check now", "the
//! page was suspended or resumed"); the transports wait for them inside their
//! `poll_fn` loops. Raises that come before anyone waits are kept, and many
//! raises before a wait count as one: a burst of `visibilitychange`, `focus`
//! and `online` makes one check, not three.

use std::cell::{Cell, RefCell};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
pub struct Signal {
    raised: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    /// Raises the signal and wakes every task waiting for it.
    pub fn raise(&self) {
        self.raised.set(true);
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for w in wakers {
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
        let mut wakers = self.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        self.raised.replace(false)
    }

    /// Resolves once the signal is raised, and lowers it.
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.take(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(signal: &Signal, waker: &Waker) -> Poll<()> {
        let mut wait = std::pin::pin!(signal.wait());
        wait.as_mut().poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn raises_are_kept_until_waited_for_and_coalesce() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let s = Signal::default();
        assert_eq!(poll(&s, &waker), Poll::Pending);
        assert_eq!(poll(&s, &waker), Poll::Pending);
        assert_eq!(
            s.wakers.borrow().len(),
            1,
            "one waker, however often polled"
        );
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
