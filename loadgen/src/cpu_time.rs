//! The CPU time this process has used, to print per request: on a shared machine the rate a
//! run reaches moves with everything else running, its CPU cost per request much less, so a
//! regression shows there first.

use std::time::Duration;

/// User plus system CPU time of the whole process (every thread) so far; `None` where
/// `/proc/self/stat` is not there to read (not Linux).
pub fn process_cpu() -> Option<Duration> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// `utime` and `stime` of a `/proc/<pid>/stat` line, fields 14 and 15, in clock ticks of
/// `USER_HZ`, which Linux fixes at 100 for what it shows user space. The command name (field 2)
/// is in parentheses and may hold spaces, so fields are counted after its closing one.
fn parse_stat(stat: &str) -> Option<Duration> {
    const USER_HZ: u64 = 100;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_added_after_the_command_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let line = "4242 (load gen) R 1 4242 4242 0 -1 4194304 100 0 0 0 1234 56 0 0 20 0 4 0";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(12_900)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_reads_its_own_time_on_linux() {
        if cfg!(target_os = "linux") {
            let before = process_cpu().expect("/proc/self/stat");
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            assert!(process_cpu().expect("/proc/self/stat") >= before);
        }
    }
}
