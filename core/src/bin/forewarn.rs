//! The `forewarn` command-line program.

fn main() {}
