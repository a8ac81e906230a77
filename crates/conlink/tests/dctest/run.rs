//! Runs a dctest suite against real `docker compose`: `:host` steps in a shell
//! in the suite's directory (COMPOSE_PROJECT_NAME set to the runner's
//! project), service steps with `docker exec` in that project's container
//! SERVICE number INDEX. A failed step ends its test, as in dctest; the
//! runner then always brings the project down, which dctest leaves to the
//! test's last step.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::expr::{interpolate, Context};
use super::suite::{Exec, Step, Suite, Test};

/// One attempt of one command may take this long before it is killed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(180);
/// dctest retries forever without `retries`; here that ends after this long.
const UNBOUNDED_REPEAT_LIMIT: Duration = Duration::from_secs(600);

pub struct Runner {
    /// Compose project of every test (COMPOSE_PROJECT_NAME, container labels).
    pub project: String,
    /// Where `:host` steps run: relative paths in the suite (COMPOSE_FILE) start here.
    pub workdir: PathBuf,
    /// `process.env` of the expressions, and the base of every command's environment.
    pub process_env: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Outcome {
    pub test: String,
    pub passed: bool,
    /// The failed step and its output, or a summary.
    pub detail: String,
    pub elapsed: Duration,
}

impl Runner {
    pub fn new(project: &str, workdir: PathBuf) -> Runner {
        Runner { project: project.to_string(), workdir, process_env: std::env::vars().collect() }
    }

    /// Runs every test of the suite in file order.
    pub fn run_suite(&self, suite: &Suite) -> Vec<Outcome> {
        let suite_env = match self.eval_env(&BTreeMap::new(), &suite.env) {
            Ok(env) => env,
            Err(e) => {
                return suite
                    .tests
                    .iter()
                    .map(|t| Outcome {
                        test: t.id.clone(),
                        passed: false,
                        detail: format!("suite env: {e}"),
                        elapsed: Duration::ZERO,
                    })
                    .collect()
            }
        };
        suite.tests.iter().map(|t| self.run_test(&suite.name, &suite_env, t)).collect()
    }

    fn run_test(&self, suite: &str, suite_env: &BTreeMap<String, String>, test: &Test) -> Outcome {
        let start = Instant::now();
        let result = self.eval_env(suite_env, &test.env).and_then(|env| {
            for (i, step) in test.steps.iter().enumerate() {
                self.run_step(&env, step)
                    .map_err(|e| format!("step {} ({}, exec {}): {e}", i + 1, step.name, exec_name(step)))?;
            }
            Ok(())
        });
        self.bring_down(suite_env, &test.env);
        let elapsed = start.elapsed();
        let (passed, detail) = match result {
            Ok(()) => (true, format!("{} steps passed", test.steps.len())),
            Err(e) => (false, e),
        };
        let verdict = if passed { "passed" } else { "FAILED" };
        crate::support::say(&format!(
            "dctest: {suite} / {} ({}): {verdict} in {:.1}s",
            test.id,
            test.name,
            elapsed.as_secs_f64()
        ));
        Outcome { test: test.id.clone(), passed, detail, elapsed }
    }

    /// `base` plus `vars`, each value interpolated with what came before.
    fn eval_env(
        &self,
        base: &BTreeMap<String, String>,
        vars: &[(String, String)],
    ) -> Result<BTreeMap<String, String>, String> {
        let mut env = base.clone();
        for (k, v) in vars {
            let value = interpolate(v, &Context { process_env: &self.process_env, env: &env })
                .map_err(|e| format!("env {k}: {e}"))?;
            env.insert(k.clone(), value);
        }
        Ok(env)
    }

    fn run_step(&self, test_env: &BTreeMap<String, String>, step: &Step) -> Result<(), String> {
        let env = self.eval_env(test_env, &step.env)?;
        let ctx = Context { process_env: &self.process_env, env: &env };
        let commands: Vec<String> =
            step.run.iter().map(|c| interpolate(c, &ctx)).collect::<Result<_, _>>()?;
        let (attempts, interval) = match &step.repeat {
            None => (Some(1), Duration::ZERO),
            Some(r) => (r.retries.map(|n| n + 1), r.interval),
        };
        let start = Instant::now();
        let mut tries = 0u32;
        loop {
            tries += 1;
            let result = commands.iter().try_for_each(|c| self.run_command(&env, step, c));
            match result {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let exhausted = match attempts {
                        Some(n) => tries >= n,
                        None => start.elapsed() > UNBOUNDED_REPEAT_LIMIT,
                    };
                    if exhausted {
                        return Err(format!("failed after {tries} tries: {e}"));
                    }
                }
            }
            std::thread::sleep(interval);
        }
    }

    fn run_command(&self, env: &BTreeMap<String, String>, step: &Step, command: &str) -> Result<(), String> {
        let mut cmd = match &step.exec {
            Exec::Host => {
                let mut c = Command::new(&step.shell);
                c.arg("-c").arg(command).current_dir(&self.workdir);
                c.envs(&self.process_env).envs(env).env("COMPOSE_PROJECT_NAME", &self.project);
                c
            }
            Exec::Service(service) => {
                let container = self.container(service, step.index)?;
                let mut c = Command::new("docker");
                c.arg("exec");
                for (k, v) in env {
                    c.arg("-e").arg(format!("{k}={v}"));
                }
                c.arg(container).arg(&step.shell).arg("-c").arg(command);
                c
            }
        };
        let (ok, output) = run_with_timeout(&mut cmd, ATTEMPT_TIMEOUT)?;
        if ok {
            Ok(())
        } else {
            Err(format!("`{}` failed:\n{}", command.trim(), tail(&output, 40)))
        }
    }

    /// The running container SERVICE number INDEX of the project.
    fn container(&self, service: &str, index: u32) -> Result<String, String> {
        let out = Command::new("docker")
            .args(["ps", "-q"])
            .arg("--filter")
            .arg(format!("label=com.docker.compose.project={}", self.project))
            .arg("--filter")
            .arg(format!("label=com.docker.compose.service={service}"))
            .arg("--filter")
            .arg(format!("label=com.docker.compose.container-number={index}"))
            .output()
            .map_err(|e| format!("docker ps: {e}"))?;
        let id = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string();
        if id.is_empty() {
            return Err(format!("no running container {service}[{index}] in project {}", self.project));
        }
        Ok(id)
    }

    /// `docker compose down` of the project with the suite's and test's env
    /// (COMPOSE_FILE), whatever the steps did.
    fn bring_down(&self, suite_env: &BTreeMap<String, String>, test_env: &[(String, String)]) {
        let env = self.eval_env(suite_env, test_env).unwrap_or_else(|_| suite_env.clone());
        let _ = Command::new("docker")
            .args(["compose", "down", "--remove-orphans", "--volumes", "-t", "1"])
            .current_dir(&self.workdir)
            .envs(&self.process_env)
            .envs(&env)
            .env("COMPOSE_PROJECT_NAME", &self.project)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn exec_name(step: &Step) -> String {
    match &step.exec {
        Exec::Host => ":host".into(),
        Exec::Service(s) if step.index == 1 => s.clone(),
        Exec::Service(s) => format!("{s}[{}]", step.index),
    }
}

/// Runs `cmd` in its own process group with stdout and stderr in one temp
/// file; kills the group after `timeout`. Returns (success, output).
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<(bool, String), String> {
    let path = std::env::temp_dir().join(format!(
        "dctest-{}-{:?}.out",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|e| e.to_string())?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if start.elapsed() > timeout {
            // The whole group: the shell and what it started (docker compose …).
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    match status {
        Some(s) => Ok((s.success(), output)),
        None => Ok((false, format!("{output}\n(killed after {timeout:?})"))),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
