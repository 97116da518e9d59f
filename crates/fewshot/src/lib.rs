//! Few-shot NAS.
