//! Integration tests of the `rankwise` binary: run it on arguments and files the tests write.

mod cli_policy;
mod er;
mod smoke;
mod train;
