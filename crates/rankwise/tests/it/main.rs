//! Integration tests of the `rankwise` binary: run it on files the tests write.

mod er;
