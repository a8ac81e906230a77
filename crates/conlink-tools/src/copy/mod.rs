//! `copy [-T] SRC DST [-- CMD...]`: overlay a directory tree onto another
//! (a bind mount would hide what is already under DST), optionally filling
//! `{{VAR}}` templates from the environment, then exec CMD.

pub mod template;
pub mod tree;

use std::ffi::OsString;
use std::path::PathBuf;

pub const USAGE: &str = "Usage: copy [-T|--template] SRC_DIR DST_DIR [-- CMD...]";

#[derive(Debug)]
struct Args {
    template: bool,
    src: PathBuf,
    dst: PathBuf,
    command: Vec<OsString>,
}

fn parse(argv: &[OsString]) -> Result<Args, String> {
    let mut rest = argv;
    let mut template = false;
    if let Some(first) = rest.first().and_then(|f| f.to_str()) {
        if first == "-T" || first == "--template" {
            template = true;
            rest = &rest[1..];
        }
    }
    let (src, dst) = match rest {
        [src, dst, ..] if src != "--" && dst != "--" => (PathBuf::from(src), PathBuf::from(dst)),
        _ => return Err("SRC_DIR and DST_DIR are required".into()),
    };
    let command = match &rest[2..] {
        [] => Vec::new(),
        [sep, cmd @ ..] if sep == "--" => cmd.to_vec(),
        [other, ..] => {
            return Err(format!(
                "unexpected argument '{}' (put the command after --)",
                other.to_string_lossy()
            ))
        }
    };
    Ok(Args { template, src, dst, command })
}

pub fn main(argv: Vec<OsString>) -> i32 {
    let args = match parse(&argv) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("copy: {msg}\n{USAGE}");
            return 2;
        }
    };
    let options = tree::Options { template: args.template, verbose: true };
    match tree::overlay(&args.src, &args.dst, &options) {
        Ok(stats) => eprintln!(
            "Copied {} files, {} symlinks from '{}' to '{}'",
            stats.files,
            stats.symlinks,
            args.src.display(),
            args.dst.display()
        ),
        Err(err) => {
            eprintln!("copy: {err}");
            return 1;
        }
    }
    crate::exec::exec_command("copy", &args.command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Args, String> {
        parse(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn parses_forms() {
        let a = p(&["-T", "/s", "/d", "--", "echo", "hi"]).unwrap();
        assert!(a.template);
        assert_eq!((a.src, a.dst), ("/s".into(), "/d".into()));
        assert_eq!(a.command, vec![OsString::from("echo"), "hi".into()]);
        let a = p(&["/s", "/d"]).unwrap();
        assert!(!a.template && a.command.is_empty());
        assert!(p(&["/s"]).is_err());
        assert!(p(&["/s", "--", "x"]).is_err());
        assert!(p(&["/s", "/d", "x"]).unwrap_err().contains("after --"));
    }
}
