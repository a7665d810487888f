//! The wasm module's allocator (`src/web/heap.rs`): blocks are aligned, never
//! overlap, keep their bytes, are reused by their class and grow in place
//! within it. A private `Heap` is driven directly (the global one, which
//! every other test uses, grows the same memory meanwhile). Run by
//! `make test` in every engine.
#![cfg(target_arch = "wasm32")]

use paywatch::heap::Heap;
use std::alloc::{GlobalAlloc, Layout};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

struct Block {
    ptr: *mut u8,
    layout: Layout,
    fill: u8,
}

impl Block {
    fn new(heap: &Heap, size: usize, align: usize, fill: u8) -> Block {
        let layout = Layout::from_size_align(size, align).unwrap();
        let ptr = unsafe { heap.alloc(layout) };
        assert!(!ptr.is_null(), "{size} B aligned to {align}: no memory");
        assert_eq!(ptr as usize % align, 0, "{size} B aligned to {align}");
        unsafe { ptr.write_bytes(fill, size) };
        Block { ptr, layout, fill }
    }

    fn check(&self) {
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) };
        assert!(
            bytes.iter().all(|&b| b == self.fill),
            "a block of {} B lost its bytes",
            self.layout.size()
        );
    }

    fn free(self, heap: &Heap) {
        self.check();
        unsafe { heap.dealloc(self.ptr, self.layout) };
    }
}

#[wasm_bindgen_test]
fn blocks_of_every_size_and_alignment_are_aligned_and_keep_their_bytes() {
    let heap = Heap::new();
    let aligns = [1, 2, 4, 8, 16, 32, 64, 4096];
    let mut blocks: Vec<Block> = (0..600)
        .map(|i| Block::new(&heap, 1 + i * 37 % 3000, aligns[i % aligns.len()], i as u8))
        .collect();
    blocks.iter().for_each(Block::check);
    // Free every other block, then fill the gaps with new ones: the reused
    // blocks must not overlap those still live.
    let mut live = Vec::new();
    for (i, b) in blocks.drain(..).enumerate() {
        if i % 2 == 0 {
            b.free(&heap);
        } else {
            live.push(b);
        }
    }
    for i in 0..300 {
        live.push(Block::new(
            &heap,
            1 + i * 53 % 3000,
            aligns[i % aligns.len()],
            200 + (i % 50) as u8,
        ));
    }
    live.iter().for_each(Block::check);
    live.into_iter().for_each(|b| b.free(&heap));
}

#[wasm_bindgen_test]
fn a_freed_block_is_reused_by_its_class_only() {
    let heap = Heap::new();
    let a = Block::new(&heap, 24, 8, 1);
    let at = a.ptr;
    a.free(&heap);
    // 17..=32 bytes is one class: the freed block comes back.
    let b = Block::new(&heap, 30, 4, 2);
    assert_eq!(b.ptr, at);
    let c = Block::new(&heap, 30, 4, 3);
    assert_ne!(c.ptr, at);
    // Another class does not take it.
    b.free(&heap);
    let d = Block::new(&heap, 100, 8, 4);
    assert_ne!(d.ptr, at);
    // A layout aligned beyond 16 bytes never takes a block from a list: a
    // freed 64-byte block carved 16 bytes past a 64-byte boundary would not
    // do for 64-byte alignment.
    let pad = Block::new(&heap, 16, 16, 5);
    let f = Block::new(&heap, 50, 8, 6);
    let f_at = f.ptr;
    f.free(&heap);
    let e = Block::new(&heap, 20, 64, 7);
    assert!(f_at as usize % 64 != 0 || e.ptr != f_at);
    for blk in [c, d, e, pad] {
        blk.free(&heap);
    }
}

#[wasm_bindgen_test]
fn realloc_keeps_the_bytes_and_stays_in_place_within_the_class() {
    let heap = Heap::new();
    let layout = Layout::from_size_align(40, 8).unwrap();
    unsafe {
        let p = heap.alloc(layout);
        p.write_bytes(7, 40);
        // 40 -> 60 bytes: still the 64-byte class.
        let same = heap.realloc(p, layout, 60);
        assert_eq!(same, p);
        // 40 -> 5000 bytes: moved, the first 40 bytes kept.
        let moved = heap.realloc(same, layout, 5000);
        assert_ne!(moved, p);
        let kept = std::slice::from_raw_parts(moved, 40);
        assert!(kept.iter().all(|&b| b == 7));
        heap.dealloc(moved, Layout::from_size_align(5000, 8).unwrap());
    }
}

#[wasm_bindgen_test]
fn large_blocks_grow_the_memory_and_are_reused() {
    let heap = Heap::new();
    let big = Block::new(&heap, 300_000, 8, 9);
    let at = big.ptr;
    let after = Block::new(&heap, 16, 8, 10);
    big.free(&heap);
    let again = Block::new(&heap, 262_145, 16, 11);
    assert_eq!(again.ptr, at, "the same class reuses the freed block");
    after.free(&heap);
    again.free(&heap);
    // The global allocator (this test's Vec) is the same code.
    let v: Vec<u64> = (0..100_000).collect();
    assert_eq!(v.iter().sum::<u64>(), 4_999_950_000);
}
