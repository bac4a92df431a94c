//! Fuzz target `ack_token`: [`forewarn::fuzzing::ack_token`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::ack_token(data));
}
