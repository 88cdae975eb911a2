//! `deploy --gate`: a command run while the deployment holds with test traffic on the new
//! version (CodeDeploy's ready wait, or an ECS PAUSE lifecycle hook); its exit status decides
//! whether the deployment goes on or is rolled back.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// How often a running gate is looked at: the watch's deadline and signals stay live meanwhile.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Runs `command` with `sh -c` (so CI can write it as it writes any step), its standard output
/// sent to bgtool's standard error (standard output carries only data), with `environment`
/// added. Waits without blocking the watch; if the watch is dropped meanwhile (its deadline, a
/// signal), the gate is killed.
///
/// # Errors
/// How the gate failed: its exit status, its signal, or why it could not start.
pub async fn run(command: &str, environment: &[(&str, &str)]) -> Result<(), String> {
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()
        .map_err(|error| format!("could not start: {error}"))?;
    let mut running = KillOnDrop(child);
    loop {
        match running.0.try_wait() {
            Ok(Some(status)) => return verdict(status),
            Ok(None) => tokio::time::sleep(CHECK_EVERY).await,
            Err(error) => return Err(format!("could not be waited for: {error}")),
        }
    }
}

fn verdict(status: ExitStatus) -> Result<(), String> {
    if status.success() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(format!("was killed by signal {signal}"));
        }
    }
    Err(status
        .code()
        .map_or_else(|| "failed".to_owned(), |code| format!("exited {code}")))
}

/// A gate still running when the watch ends is not left behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn the_exit_status_decides_and_the_environment_is_given() {
        assert_eq!(
            block_on(run("test \"$GATE_WORD\" = yes", &[("GATE_WORD", "yes")])),
            Ok(())
        );
        assert_eq!(block_on(run("exit 3", &[])), Err("exited 3".to_owned()));
        assert_eq!(
            block_on(run("kill -TERM $$", &[])),
            Err("was killed by signal 15".to_owned())
        );
    }

    #[test]
    fn a_gate_cut_short_is_killed() {
        let folder = tempfile::tempdir().unwrap();
        let marker = folder.path().join("finished");
        let command = format!("sleep 1 && touch '{}'", marker.display());
        let outcome = block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(200), run(&command, &[])).await
        });
        assert!(outcome.is_err(), "the gate was still running");
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(!marker.exists(), "the gate was killed, not left to finish");
    }
}
