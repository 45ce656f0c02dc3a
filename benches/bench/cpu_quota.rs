//! Cold start under the CPU a small Lambda function gets: a cgroup v1 CPU
//! quota of `100000 x memory / 1769` microseconds per 100,000 (Lambda gives
//! one vCPU at 1,769 MB, in proportion below). The fake Runtime API and the
//! store run outside the cgroup, as Lambda's and S3's do. Two ways:
//! - the whole process under the quota, from exec on (the target): it is
//!   started from a thread of the bench that moves itself into the cgroup
//!   first (a child starts in its parent thread's cgroup);
//! - init at full CPU, the invocation under the quota (context): the process
//!   is moved into the cgroup at its first poll for an event, as AWS
//!   describes on-demand functions (init "non-throttled", docs/performance.md).
//!
//! Runs are two periods apart, so that each starts with a whole quota, as a
//! new execution environment does.

use super::*;
use cold_start::{AT_FULL_CPU, Launch, S3Target, cold_starts, medians};

/// Where cgroup v1 mounts the cpu controller.
const CPU_CGROUPS: &str = "/sys/fs/cgroup/cpu";
const PERIOD_US: u64 = 100_000;
const RUNS: usize = 10;

/// The memory sizes measured, and the target of each (none: context).
const SIZES: [(u64, Option<Duration>); 2] = [(256, None), (128, Some(Duration::from_millis(100)))];

/// A cgroup with a CPU quota; removed when dropped (it must be empty by then).
struct CpuCgroup {
    path: PathBuf,
}

impl CpuCgroup {
    fn create(name: &str, quota_us: u64) -> Result<Self, String> {
        let root = Path::new(CPU_CGROUPS);
        if !root.join("cpu.cfs_quota_us").exists() {
            return Err(format!("no cgroup v1 cpu controller at {CPU_CGROUPS}"));
        }
        let path = root.join(name);
        std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let cgroup = Self { path };
        cgroup.write("cpu.cfs_period_us", &PERIOD_US.to_string())?;
        cgroup.write("cpu.cfs_quota_us", &quota_us.to_string())?;
        Ok(cgroup)
    }

    /// Moves every thread of process `pid` into this cgroup.
    fn enter(&self, pid: u32) -> std::io::Result<()> {
        std::fs::write(self.path.join("cgroup.procs"), pid.to_string())
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.path.join(file);
        std::fs::write(&path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Spawns `cmd` inside this cgroup, from a thread that joins it first.
    fn spawn(&self, mut cmd: Command) -> std::io::Result<(std::process::Child, Instant)> {
        let tasks = self.path.join("tasks");
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    // "/proc/thread-self" links to "PID/task/TID".
                    let link = std::fs::read_link("/proc/thread-self")?;
                    let tid = link
                        .file_name()
                        .and_then(|t| t.to_str())
                        .unwrap_or_default()
                        .to_string();
                    std::fs::write(&tasks, &tid)?;
                    let started = Instant::now();
                    let child = cmd.spawn()?;
                    Ok((child, started))
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("spawning thread panicked")))
        })
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// The quota for a function of `memory_mb`.
fn quota_us(memory_mb: u64) -> u64 {
    PERIOD_US * memory_mb / 1769
}

/// Exec to first answer over HTTPS under the quota of each memory size.
pub(crate) async fn cold_start_quota(
    https: &S3Target,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let pause = Duration::from_micros(2 * PERIOD_US);
    for (memory, target) in SIZES {
        let quota = quota_us(memory);
        let measure = format!(
            "Cold start over HTTPS at the CPU of a {memory} MB function (cgroup v1 \
             cpu.cfs_quota_us {quota} per {PERIOD_US}), whole process: exec to first response, \
             median of {RUNS}"
        );
        let name = format!("s3-proxy-bench-{}-{memory}", std::process::id());
        let cgroup = match CpuCgroup::create(&name, quota) {
            Ok(cgroup) => cgroup,
            Err(why) => {
                rows.push(Row::new(measure, format!("skipped: {why}")));
                continue;
            }
        };
        let throttled = Launch {
            spawn: &|cmd| cgroup.spawn(cmd),
            at_first_poll: None,
        };
        let runs = cold_starts(https, RUNS, pause, &throttled).await?;
        let (run, max) = (medians(&runs), runs.iter().map(|r| r.total).max());
        let max = max
            .map(|m| format!(", slowest {}", ms(m)))
            .unwrap_or_default();
        let mut row = Row::new(format!("{measure} ({}{max})", run.parts()), ms(run.total));
        if let Some(target) = target {
            row = row.target(format!("< {} ms", target.as_millis()), run.total < target);
        }
        rows.push(row);

        let invoke_only = Launch {
            spawn: AT_FULL_CPU.spawn,
            at_first_poll: Some(&|pid| cgroup.enter(pid)),
        };
        let run = medians(&cold_starts(https, RUNS, pause, &invoke_only).await?);
        rows.push(Row::new(
            format!(
                "(context) the same with init at full CPU and the invocation under the \
                 {memory} MB quota, as AWS describes on-demand init ({})",
                run.parts()
            ),
            ms(run.total),
        ));
        drop(cgroup);
    }
    Ok(())
}
