//! A one-bit wake-up a future can wait for. Pure (std only), so it is tested
//! natively.
//!
//! The page-lifecycle listeners raise a watch's signals ("check now", "the
//! page was suspended or resumed"); the transports wait for them inside their
//! `select!` loops. Raises that come before anyone waits are kept, and many
//! raises before a wait count as one: a burst of `visibilitychange`, `focus`
//! and `online` makes one check, not three.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
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

    /// Resolves once the signal is raised, and lowers it.
    pub fn wait(&self) -> Wait<'_> {
        Wait(self)
    }
}

/// The future of [`Signal::wait`].
pub struct Wait<'a>(&'a Signal);

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let signal = self.0;
        if signal.raised.replace(false) {
            return Poll::Ready(());
        }
        let mut wakers = signal.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut wait = signal.wait();
        Pin::new(&mut wait).poll(&mut Context::from_waker(waker))
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
