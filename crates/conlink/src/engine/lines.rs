//! Command output as lines, streamed: bytes in, complete lines out, nothing kept but
//! the current partial line (cut at `MAX_LINE` bytes). Invalid UTF-8 is replaced, never
//! fatal, so a reader never stops early (which would kill the command with SIGPIPE).

/// Longest line handed on in one piece; longer ones are cut into pieces of this size.
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `bytes`; every complete line (without its `\n`, a trailing `\r` dropped)
    /// goes to `on_line`.
    pub fn push(&mut self, mut bytes: &[u8], on_line: &mut dyn FnMut(&str)) {
        while !bytes.is_empty() {
            let room = MAX_LINE - self.partial.len();
            match bytes.iter().take(room).position(|b| *b == b'\n') {
                Some(end) => {
                    self.partial.extend_from_slice(&bytes[..end]);
                    self.emit(on_line);
                    bytes = &bytes[end + 1..];
                }
                None if bytes.len() >= room => {
                    self.partial.extend_from_slice(&bytes[..room]);
                    self.emit(on_line);
                    bytes = &bytes[room..];
                }
                None => {
                    self.partial.extend_from_slice(bytes);
                    bytes = &[];
                }
            }
        }
    }

    /// The last line when the output did not end with a newline.
    pub fn finish(&mut self, on_line: &mut dyn FnMut(&str)) {
        if !self.partial.is_empty() {
            self.emit(on_line);
        }
    }

    fn emit(&mut self, on_line: &mut dyn FnMut(&str)) {
        if self.partial.last() == Some(&b'\r') {
            self.partial.pop();
        }
        on_line(&String::from_utf8_lossy(&self.partial));
        self.partial.clear();
    }
}

/// Reads `stream` to its end, handing each line to `on_line`.
pub async fn stream_lines<R>(mut stream: R, on_line: &mut (dyn FnMut(&str) + Send))
where
    R: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt as _;
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; 8192];
    let mut sink = |l: &str| on_line(l);
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => splitter.push(&buf[..n], &mut sink),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    splitter.finish(&mut sink);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        for c in chunks {
            s.push(c, &mut |l| out.push(l.to_string()));
        }
        s.finish(&mut |l| out.push(l.to_string()));
        out
    }

    #[test]
    fn lines_across_chunks_and_the_unterminated_last_one() {
        assert_eq!(split(&[b"a\nb", b"c\n", b"\nd"]), ["a", "bc", "", "d"]);
        assert_eq!(split(&[b"crlf\r\n"]), ["crlf"]);
        assert!(split(&[]).is_empty());
        assert!(split(&[b""]).is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reading_goes_on() {
        assert_eq!(split(&[b"ok\n\xff\xfebad\nafter\n"]), ["ok", "\u{fffd}\u{fffd}bad", "after"]);
        // A multibyte character split across chunks stays whole.
        assert_eq!(split(&["é\n".as_bytes()[..1].as_ref(), &"é\n".as_bytes()[1..]]), ["é"]);
    }

    #[test]
    fn endless_lines_are_cut_so_memory_stays_bounded() {
        let long = vec![b'x'; MAX_LINE * 2 + 5];
        let out = split(&[&long, b"\n"]);
        assert_eq!(out.iter().map(String::len).collect::<Vec<_>>(), [MAX_LINE, MAX_LINE, 5]);
        let out = split(&[&vec![b'y'; MAX_LINE], b"\nz"]);
        assert_eq!(out.iter().map(String::len).collect::<Vec<_>>(), [MAX_LINE, 0, 1]);
    }

    #[tokio::test]
    async fn a_stream_is_read_to_its_end() {
        let (mut a, b) = tokio::net::UnixStream::pair().unwrap();
        use tokio::io::AsyncWriteExt as _;
        a.write_all(b"one\n\x80two\nthree").await.unwrap();
        drop(a);
        let mut got = Vec::new();
        stream_lines(b, &mut |l: &str| got.push(l.to_string())).await;
        assert_eq!(got, ["one", "\u{fffd}two", "three"]);
    }
}
