//! The wasm module's allocator: power-of-two size classes, each with a free
//! list, carved from memory the module grows.
//!
//! paywatch's heap is small and steady: a few KB of strings, futures and JS
//! handles that come and go as watches run. A freed block waits on its
//! class's list for the next allocation of that class; memory is never given
//! back (a wasm memory cannot shrink anyway), so the heap is the sum of each
//! class's peak, in blocks up to twice the size asked. In exchange it is a few
//! hundred bytes of code: about 1.3 KB gzip less than talc, 3.2 KB less than
//! the standard library's dlmalloc (README, "What a page downloads").
//!
//! Blocks are carved 16-byte aligned (every class is a multiple of 16), which
//! serves every layout with an alignment up to 16; the rare larger alignment
//! is carved on its own and never takes a block from a free list.
//! `tests/heap.rs` checks sizes, alignments, reuse and `realloc` in the
//! browser.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr::null_mut;

/// The smallest class: 2^4 = 16 bytes, also the alignment of every block.
const MIN_CLASS: u32 = 4;
const MIN_ALIGN: usize = 1 << MIN_CLASS;
const PAGE: usize = 65_536;
/// Slots of the free lists: classes 0 to `usize::BITS`.
const CLASSES: usize = usize::BITS as usize + 1;

/// The allocator; see the module's documentation.
pub struct Heap(UnsafeCell<State>);

struct State {
    /// The first free block of each class; a free block holds the next.
    /// One slot more than a layout's class needs (see [`class_of`]), so
    /// that every index `class_of` can return is in bounds, provably: no
    /// bounds-check panic.
    free: [*mut u8; CLASSES],
    /// Memory not carved yet: from `next` to `end`.
    next: usize,
    end: usize,
}

// SAFETY: wasm32-unknown-unknown without threads: only one thread exists.
unsafe impl Sync for Heap {}

impl Heap {
    pub const fn new() -> Heap {
        Heap(UnsafeCell::new(State {
            free: [null_mut(); CLASSES],
            next: 0,
            end: 0,
        }))
    }
}

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

/// The class of a layout: its blocks have 2^class bytes, at least its size
/// and its alignment. At most 31: a layout's size is at most `isize::MAX`.
fn class_of(layout: &Layout) -> usize {
    let size = layout.size().max(layout.align()).max(MIN_ALIGN);
    (usize::BITS - (size - 1).leading_zeros()) as usize
}

impl State {
    /// A new block of `size` bytes aligned to `align`, carved from fresh
    /// memory, growing the memory when it is used up; null when it cannot grow.
    fn carve(&mut self, size: usize, align: usize) -> *mut u8 {
        let fits = |next: usize, end: usize| {
            let start = next.checked_add(align - 1)? & !(align - 1);
            let stop = start.checked_add(size)?;
            (stop <= end).then_some((start, stop))
        };
        if let Some((start, stop)) = fits(self.next, self.end) {
            self.next = stop;
            return start as *mut u8;
        }
        let Some(pages) = size.checked_add(align).map(|n| n.div_ceil(PAGE)) else {
            return null_mut();
        };
        let old = wasm32::memory_grow(0, pages);
        if old == usize::MAX {
            return null_mut();
        }
        // Memory grown by someone else in between leaves a gap: start anew
        // at the new pages.
        if old * PAGE != self.end {
            self.next = old * PAGE;
        }
        self.end = (old + pages) * PAGE;
        match fits(self.next, self.end) {
            Some((start, stop)) => {
                self.next = stop;
                start as *mut u8
            }
            None => null_mut(),
        }
    }
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded, and no allocation happens inside another.
        let s = unsafe { &mut *self.0.get() };
        let class = class_of(&layout);
        let head = s.free[class];
        if !head.is_null() && layout.align() <= MIN_ALIGN {
            // SAFETY: a free block's first word holds the next free block.
            s.free[class] = unsafe { *head.cast::<*mut u8>() };
            return head;
        }
        s.carve(1 << class, layout.align().max(MIN_ALIGN))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        let s = unsafe { &mut *self.0.get() };
        let class = class_of(&layout);
        // SAFETY: `ptr` is a block of 2^class >= 16 bytes, 16-byte aligned,
        // that nobody uses any more.
        unsafe { *ptr.cast::<*mut u8>() = s.free[class] };
        s.free[class] = ptr;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` fits the layout's rules.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class_of(&new) == class_of(&layout) {
            return ptr; // the block has room already
        }
        // SAFETY: `new` is a valid layout, as above.
        let moved = unsafe { self.alloc(new) };
        if !moved.is_null() {
            // SAFETY: both blocks hold at least the smaller size, and a fresh
            // block never overlaps a live one.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        moved
    }
}
