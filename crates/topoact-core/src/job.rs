//! Stepwise jobs: the shape every long computation takes so that a single-threaded caller
//! (the browser worker) can interleave progress reports and cancellation checks.
//!
//! A job does a bounded slice of work per [`Job::step`] call (ideally a few to a few tens
//! of milliseconds) and returns [`Step::Done`] with its output when finished. Native
//! callers simply call [`run_to_end`].

/// How far a job has come. `done <= total`; `total` may grow as the job learns its size.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// Short human-readable name of the current stage, e.g. "reading act_block7".
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

impl Progress {
    pub fn new(stage: impl Into<String>, done: u64, total: u64) -> Self {
        Self {
            stage: stage.into(),
            done,
            total,
        }
    }

    /// Fraction in [0, 1]; 0 when the total is unknown.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
        }
    }
}

/// Result of one step.
pub enum Step<T> {
    /// More work remains; here is where the job stands.
    Running(Progress),
    /// Finished.
    Done(T),
}

/// A computation performed in bounded steps.
pub trait Job {
    type Output;
    type Error;
    /// Performs a bounded amount of work.
    fn step(&mut self) -> Result<Step<Self::Output>, Self::Error>;
}

/// Runs a job to completion, handing each progress report to `on_progress`.
pub fn run_to_end<J: Job>(
    job: &mut J,
    mut on_progress: impl FnMut(&Progress),
) -> Result<J::Output, J::Error> {
    loop {
        match job.step()? {
            Step::Running(progress) => on_progress(&progress),
            Step::Done(output) => return Ok(output),
        }
    }
}

/// One job among `count` run one after another, reporting its progress as a share of the
/// whole sequence ("block7 (2 of 5): dbscan"), so a progress bar moves once across all parts.
pub struct PartOfSequence<J> {
    pub job: J,
    /// Zero-based position of this part.
    pub index: usize,
    pub count: usize,
    /// Name of the part, shown before the job's own stage.
    pub label: String,
}

/// Resolution of the sequence's progress within one part.
const PART_RESOLUTION: u64 = 1_000;

impl<J: Job> Job for PartOfSequence<J> {
    type Output = J::Output;
    type Error = J::Error;

    fn step(&mut self) -> Result<Step<Self::Output>, Self::Error> {
        Ok(match self.job.step()? {
            Step::Done(output) => Step::Done(output),
            Step::Running(progress) => {
                let within = (progress.fraction() * PART_RESOLUTION as f64) as u64;
                Step::Running(Progress::new(
                    format!(
                        "{} ({} of {}): {}",
                        self.label,
                        self.index + 1,
                        self.count,
                        progress.stage
                    ),
                    self.index as u64 * PART_RESOLUTION + within,
                    self.count.max(1) as u64 * PART_RESOLUTION,
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Countdown(u64);

    impl Job for Countdown {
        type Output = &'static str;
        type Error = ();
        fn step(&mut self) -> Result<Step<&'static str>, ()> {
            if self.0 == 0 {
                return Ok(Step::Done("done"));
            }
            self.0 -= 1;
            Ok(Step::Running(Progress::new("counting", 4 - self.0, 4)))
        }
    }

    #[test]
    fn a_part_reports_its_share_of_the_sequence() {
        let mut part = PartOfSequence {
            job: Countdown(4),
            index: 1,
            count: 4,
            label: "block7".into(),
        };
        let mut reports = Vec::new();
        let output = run_to_end(&mut part, |p| reports.push(p.clone())).unwrap();
        assert_eq!(output, "done");
        assert_eq!(
            reports[0],
            Progress::new("block7 (2 of 4): counting", 1_250, 4_000)
        );
        assert_eq!(reports.last().map(|p| p.done), Some(2_000));
    }
}
