//! User values echoed in messages: quoted, and cut when long, so no input
//! can make conlink print megabytes.

/// Longest value echoed in a message, in characters, before it is cut.
pub const MAX_SHOWN_VALUE: usize = 80;

/// `s` quoted like `{:?}`, cut to [`MAX_SHOWN_VALUE`] characters with its
/// size: `"xxxx…"…(500000 bytes)`. Use it for every user value in a message.
pub fn quoted(s: &str) -> String {
    if s.chars().count() <= MAX_SHOWN_VALUE {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(MAX_SHOWN_VALUE - 20).collect();
    format!("{head:?}…({} bytes)", s.len())
}
