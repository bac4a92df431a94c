//! Fuzz target `config`: [`forewarn::fuzzing::config`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::config(data));
}
