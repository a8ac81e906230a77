//! `wait`: block until network/file/command conditions hold, then exec a
//! command. Interfaces created by conlink appear asynchronously after a
//! container starts, so workloads use this as their entrypoint prefix.

mod args;
pub use args::USAGE;
mod conditions;
mod netinfo;
mod sys;
mod tcp;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use args::{Plan, Step};

pub fn main(argv: Vec<OsString>) -> i32 {
    let plan = match args::parse(&argv) {
        Ok(plan) => plan,
        Err(msg) => {
            eprintln!("wait: {msg}\n{}", args::USAGE);
            return 2;
        }
    };
    if let Err(code) = run_steps(&plan) {
        return code;
    }
    crate::exec::exec_command("wait", &plan.command)
}

/// Runs the steps in command-line order; `-s` and `-u` take effect where they
/// appear, as in the original. Err carries the exit code on timeout.
fn run_steps(plan: &Plan) -> Result<(), i32> {
    let started = Instant::now();
    let deadline = plan.timeout.map(|t| started + t);
    let mut interval = Duration::from_secs(1);
    for step in &plan.steps {
        match step {
            Step::Interval(d) => {
                eprintln!("Retry interval set to {}s", d.as_secs_f64());
                interval = *d;
            }
            Step::Umask(mask) => {
                sys::set_umask(*mask);
                eprintln!("Set umask to {mask:04o}");
            }
            Step::Condition(cond) => wait_for(cond, interval, deadline, started)?,
        }
    }
    Ok(())
}

fn wait_for(
    cond: &conditions::Condition,
    interval: Duration,
    deadline: Option<Instant>,
    started: Instant,
) -> Result<(), i32> {
    let mut announced = false;
    loop {
        if cond.check(deadline) {
            eprintln!("{}", cond.met_message());
            return Ok(());
        }
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if remaining == Some(Duration::ZERO) {
            eprintln!(
                "wait: timed out after {:.1}s: condition not met: {}",
                started.elapsed().as_secs_f64(),
                cond.describe()
            );
            return Err(1);
        }
        if !announced {
            eprintln!("Waiting for {} (retry every {}s)", cond.describe(), interval.as_secs_f64());
            announced = true;
        }
        std::thread::sleep(remaining.map_or(interval, |r| r.min(interval)));
    }
}
