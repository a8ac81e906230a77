//! `echo ARGS...`: prints its arguments separated by spaces, for images
//! without a shell (the original image's /utils/echo).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

pub const USAGE: &str = "Usage: echo [ARGS...]";

pub fn main(args: Vec<OsString>) -> i32 {
    let line = join(&args);
    match std::io::stdout().lock().write_all(&line) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("echo: {e}");
            1
        }
    }
}

/// The arguments joined by single spaces, with a final newline.
fn join(args: &[OsString]) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(arg.as_bytes());
    }
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_spaces_and_ends_the_line() {
        let args: Vec<OsString> = ["'wait", "finished'", ""].iter().map(OsString::from).collect();
        assert_eq!(join(&args), b"'wait finished' \n");
        assert_eq!(join(&[]), b"\n");
    }
}
