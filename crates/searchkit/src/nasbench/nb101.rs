//! NAS-Bench-101.
