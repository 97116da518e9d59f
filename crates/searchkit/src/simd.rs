//! Run-time choice of a wider-vector build of the hot numeric loops.
//!
//! Why: a default build targets baseline x86-64, where LLVM vectorises with
//! 2-lane SSE2. The GP's `O(n^3)` factorisations and the SVM's distance
//! sums are written as independent lanes (several accumulators, blocked
//! rows), so the same source compiled for AVX2 runs 4 lanes per instruction.
//! [`multiversion!`] compiles a function body twice, once with
//! `#[target_feature(enable = "avx2")]`, and picks the AVX2 copy when the CPU
//! has it.
//!
//! Bits do not change: both copies perform the same IEEE-754 operations in
//! the same order on each lane (Rust never contracts `a * b + c` into an
//! FMA, and never reassociates), so a run record is identical on any x86-64
//! machine, with or without AVX2 (`gp_simd_copies_agree_bit_for_bit` and
//! `svm_simd_copies_agree_bit_for_bit` check it). [`set_enabled`] switches
//! the wide copies off, for those tests and for timing.

use std::sync::atomic::{AtomicU8, Ordering};

/// 0: not yet detected; 1: off; 2: on.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether the AVX2 copies run (the CPU has AVX2 and they are not switched
/// off).
#[inline]
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let on = detect();
            STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        s => s == 2,
    }
}

fn detect() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Switch the AVX2 copies off (`false`) or back on where the CPU has AVX2.
/// Results are the same either way; only the speed changes.
pub fn set_enabled(on: bool) {
    STATE.store(if on && detect() { 2 } else { 1 }, Ordering::Relaxed);
}

/// Define a function whose body is compiled twice: as written, and with
/// AVX2 enabled; calls take the AVX2 copy when [`enabled`]. Helpers the body
/// calls should be `#[inline(always)]` so they are compiled into each copy.
/// The signature may not use generics or `impl Trait`.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn wide($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if $crate::simd::enabled() {
                    // SAFETY: `enabled` is true only when the CPU has AVX2.
                    #[allow(unsafe_code)]
                    return unsafe { wide($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}
pub(crate) use multiversion;
