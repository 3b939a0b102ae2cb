//! Integration tests of the `rankwise` binary.

mod cli_policy;
