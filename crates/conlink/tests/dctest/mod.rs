//! A runner for the original conlink's test step files (the dctest format),
//! enough of it for test/test*.yaml there and tests/compat/test here.

pub mod expr;
pub mod run;
pub mod suite;
