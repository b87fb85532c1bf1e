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
        Self { stage: stage.into(), done, total }
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
