//! The command-line conventions every Skywave binary shares (`skywave`, `skywave-authority`,
//! `skywave-sim`, `skywave-linkemu`), kept in one place so that the operator's tool and the
//! signing cell's tool read and print the same spellings.
//!
//! - [`output`]: stdout that tolerates a reader who stops reading (`| head -1`).
//! - [`time`]: wall-clock times as people type and read them.
//! - [`parse_category`]: a category value as `TAG:VALUE`.
//! - [`on_agent_stack`]: a thread with room for an agent's fixed-size protocol state.

pub mod output;
pub mod time;

use skywave_protocol::policy::CategoryValue;

/// The agent's protocol state (trust store, storage, links) is a few hundred kilobytes of fixed
/// memory held in one task; the thread that runs it needs room, debug builds included.
pub const AGENT_STACK: usize = 64 << 20;

/// Runs `job` on a thread with [`AGENT_STACK`] of stack: `skywave run`, and `skywave-sim demo`
/// with its six agents.
pub fn on_agent_stack(
    job: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("skywave-agent".into())
        .stack_size(AGENT_STACK)
        .spawn(job)?
        .join()
        .map_err(|_| anyhow::anyhow!("the agent thread panicked"))?
}

/// Parses a category value as the command lines take it: `TAG:VALUE` (`2:10`), the one spelling
/// Skywave's tools print, with `TAG=VALUE` accepted too for scripts written before it.
pub fn parse_category(text: &str) -> std::result::Result<CategoryValue, String> {
    let (tag, value) = text
        .split_once(':')
        .or_else(|| text.split_once('='))
        .ok_or_else(|| format!("{text:?}: expected TAG:VALUE"))?;
    Ok(CategoryValue {
        tag: tag
            .parse()
            .map_err(|_| format!("{tag:?} is not a tag (0..=255)"))?,
        value: value
            .parse()
            .map_err(|_| format!("{value:?} is not a value (0..=65535)"))?,
    })
}

#[cfg(test)]
mod category_tests {
    use super::*;

    #[test]
    fn categories_read_with_a_colon_or_the_old_equals() {
        let ten = CategoryValue { tag: 2, value: 10 };
        assert_eq!(parse_category("2:10"), Ok(ten));
        assert_eq!(parse_category("2=10"), Ok(ten));
        assert!(parse_category("2-10").is_err());
        assert!(parse_category("256:1").is_err());
        assert!(parse_category("2:65536").is_err());
    }
}
