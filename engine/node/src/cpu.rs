//! CPU time of this process, for the load reports' CPU-seconds figures.

/// User + system CPU seconds this process has used so far, from /proc/self/stat.
///
/// /proc reports in USER_HZ ticks, which the Linux ABI fixes at 100 per second whatever
/// the kernel's own tick rate, so no libc call (and no unsafe) is needed to scale it.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces and parentheses: skip past its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) sit at 11 and 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_seconds_grow_with_work() {
        let before = super::process_cpu_seconds().expect("linux /proc");
        let mut x = 0u64;
        for i in 0..200_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        let after = super::process_cpu_seconds().expect("linux /proc");
        assert!(after > before, "{after} should exceed {before}");
    }
}
