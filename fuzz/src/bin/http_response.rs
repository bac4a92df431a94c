//! Fuzz target `http_response`: [`forewarn::fuzzing::http_response`] under AFL++ in persistent mode.

fn main() {
    afl::fuzz!(|data: &[u8]| forewarn::fuzzing::http_response(data));
}
