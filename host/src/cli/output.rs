//! Writing a command's report to stdout when the reader may stop reading (`| head -1`).
//!
//! `println!` panics when stdout is a pipe whose reader has gone: Rust ignores SIGPIPE, so the
//! write fails with `EPIPE` and `println!` turns that failure into a panic. The command-line
//! tools write through [`outln!`](crate::outln) instead, which returns the error, and their
//! `main` treats a [broken pipe](is_broken_pipe) as the reader having seen enough: exit 0,
//! nothing on stderr, as `grep` and `cat` do.

/// Writes a line to stdout like `println!`, returning the write's `std::io::Result` instead
/// of panicking on it.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        writeln!(::std::io::stdout().lock(), $($arg)*)
    }};
}

/// Writes to stdout like `print!`, returning the write's `std::io::Result` instead of
/// panicking on it.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        write!(::std::io::stdout().lock(), $($arg)*)
    }};
}

/// Whether `error` (or anything it wraps) is a write to a pipe nobody reads any more.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
