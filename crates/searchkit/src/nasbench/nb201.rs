//! NAS-Bench-201.
