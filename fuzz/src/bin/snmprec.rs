//! Fuzz target `snmprec`: [`forewarn::fuzzing::snmprec`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::snmprec(data));
}
