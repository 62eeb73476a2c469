//! A command run inside a container through the Engine API's exec, waited for with a limit
//! of its own: health checks of trials and of `depends_on` services both need it.

use super::{interrupt, ProfileError};
use crate::engine::client::Client;
use std::time::{Duration, Instant};

/// Runs `argv` in container `id`; true when it exits 0 within `limit`. An exec the engine
/// refuses counts as a failed attempt, not an error: the container may be going away.
pub fn exec_ok(
    client: &Client,
    id: &str,
    argv: &[String],
    limit: Duration,
) -> Result<bool, ProfileError> {
    let until = Instant::now() + limit;
    let Ok(exec) = client.exec(id, argv) else {
        return Ok(false);
    };
    loop {
        interrupt::check()?;
        match client.exec_state(&exec) {
            Ok(s) if !s.running => return Ok(s.exit_code == Some(0)),
            Ok(_) => {}
            Err(_) => return Ok(false),
        }
        if Instant::now() >= until {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
