//! UMAP's layout optimisation: stochastic gradient descent on the fuzzy cross-entropy with
//! epochs-per-sample scheduling and negative sampling (umap-learn 0.5.12's
//! `optimize_layout_euclidean`, `move_other = True`, written from its documented behaviour),
//! on several threads with the same bits on any number of them.
//!
//! Per epoch `n` (0-based), every edge `i` whose `epoch_of_next_sample <= n` pulls its two ends
//! together with the attractive gradient `-2ab d^(2(b-1)) / (1 + a d^(2b))` (clipped to
//! [-4, 4] per coordinate), then pushes its head away from
//! `floor((n - epoch_of_next_negative_sample) / epochs_per_negative_sample)` uniformly drawn
//! vertices with `2 gamma b / ((0.001 + d^2)(1 + a d^(2b)))`. The learning rate is
//! `alpha = 1 - (n - 1) / n_epochs` from epoch 1 on (1 at epochs 0 and 1), as umap-learn
//! updates it after each epoch.
//!
//! # Blocks and rounds (how the epochs run in parallel, deterministically)
//! The vertices are cut into [`BLOCKS`] runs of consecutive indices with about equal expected
//! work per epoch (a function of the graph only, never of the thread count); a block owns its
//! vertices and the edges whose head it owns (the edges come sorted by head). Each block's
//! edges are cut into [`ROUNDS`] runs of equal count; in round `r` of an epoch every block
//! walks its `r`-th run in order, as the serial algorithm would, except that
//! - the positions of its own vertices are live (read and written as it goes);
//! - the positions of other blocks' vertices (a tail, a negative sample) are read from the
//!   snapshot taken when the round began;
//! - a move of another block's vertex (the tail's half of the attractive update) is recorded,
//!   in a list per owning block, and applied when the round ends: block by block in
//!   vertex-block order, each list in the order it was made.
//!
//! So a block's round is a function of the snapshot, its own vertices and its own random
//! stream alone, and the blocks can run at the same time. With the `parallel` feature and
//! more than one thread, an [`Optimiser::advance`] call hands one team of tasks to the rayon
//! pool, which take the round's blocks as they come, meeting at the round's end by an atomic
//! count (one hand-off to the pool per call, one meeting per round): each task keeps its own
//! copy of the round's snapshot, renewed from the last round's changes (the heads of its
//! blocks' runs, their own vertices moved as tails, the recorded moves), and a block starts
//! a round from that copy of its vertices (the round's end folded into the next round's
//! start); without it, one after another, the moves applied and the snapshot renewed at
//! each round's end. The coordinates
//! are the same bits on one thread or many, with or without the feature, and however the
//! work is split into calls (a call runs whole rounds). With one block the method is the
//! serial one.

//! # Differences from umap-learn
//! - The blocks: a vertex sees the vertices other blocks move in the same round where they
//!   stood when the round began, and receives their pulls when it ends (umap-learn, serial
//!   under a seed, sees every move at once; with `parallel=True` its threads race on the
//!   coordinates). The order of the updates is also another: round by round, the blocks'
//!   runs side by side, where umap-learn walks the vertices in index order.
//! - A head's negative samples are evaluated in batches of eight from the same head position
//!   and their moves summed (umap-learn moves the head after each; the batch is what lets the
//!   arithmetic vectorise, see `repel`); the samples due from a head's consecutive edges share
//!   batches, so a sample may be evaluated after the head's next pull.
//! - Negative samples are read from the round's snapshot, the block's own vertices too
//!   (umap-learn reads them live).
//! - The random vertices come from eight xorshift32 lanes per block, seeded from ChaCha8
//!   (umap uses a Tausworthe generator per head vertex).
//! - Powers use a polynomial `exp2(b log2 x)` accurate to ~2e-4 relative (umap-learn runs
//!   under numba's `fastmath`); the schedule is kept in f32.
//!
//! Cost (measured: 9.7G instructions at 12K x 256 and 200 epochs on one thread, 14.6G with
//! one 8-lane batch per edge and a buffered xorshift64* stream): per epoch, one compare per edge, one attractive update per edge sampled (the
//! heaviest edges every epoch) and `negative_sample_rate` repulsive updates per attractive
//! one (the bulk: about 5e8 at 50K points and 200 epochs); at the end of each round one add
//! per recorded move and a copy of the coordinates (`ROUNDS` copies per epoch; on a team,
//! each task adds every move to its copy and copies only the changed heads, and the blocks
//! copy their vertices once). Memory: 24 bytes per edge, 24 per recorded move (two rounds'
//! records, at most one per edge sampled in a round), 9 per vertex (the snapshot, the
//! owning block), on a team 8 more per vertex (a second coordinate buffer) and 8 per vertex
//! per task (its copy of the snapshot).
//!
//! Measured (12K x 256, 50 epochs, 1 thread, 4.14M positive samples): 538 instructions per
//! positive sample with its negatives; 516 with the negative count through u32 and one length
//! check per batch, 499 with the degree-4 log2 / degree-3 exp2 (degree 5 / 4 before) and the
//! batch's learning rate applied to its sum, 479 with (x, y) pairs in the pull (at 50K, user
//! time on 1 thread 6.7-7.1 s -> 6.3-6.4 s).
//!
//! Measured (50K x 256, 10 epochs, 2 threads, instructions of the team's tasks): two
//! meetings per round and a whole-snapshot copy per task per round, 2.19G (0.76G of it in
//! `memcpy`); one meeting per round and the copies renewed from the changes, 1.72G (0.27G).
//!
//! Measured and not kept (50K x 256, 1 thread, same bits each): a first pass settling the
//! round's schedule (due edges, draws, a slot per deferred move), then the pulls cut in two
//! at a head boundary and walked side by side so the processor overlaps two heads' chains
//! (+8 % instructions, 12K x 30 epochs 1.29G -> 1.40G; user time no better: the chains of
//! consecutive heads already overlap); the state read when an edge is due as one record
//! instead of five arrays (+1.3 % instructions, 5.6 % fewer simulated L1 misses, LL misses
//! nil either way; time no better).

use std::ops::Range;
#[cfg(feature = "parallel")]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(feature = "parallel")]
use std::sync::{Condvar, Mutex};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Negative samples evaluated together from one head position (one SIMD-friendly batch).
const NEGATIVE_BATCH: usize = 8;

/// Vertex blocks of an epoch. A constant, so the result never depends on the thread count;
/// 32 keeps up to 16 threads evenly busy (two blocks each, at least) while a block's tails
/// are almost all elsewhere anyway (so more blocks would change little).
const BLOCKS: usize = 32;

/// Rounds per epoch: each block's edges are cut into this many runs of equal count, and the
/// blocks meet after each run (the recorded moves applied, the snapshot renewed). A vertex
/// then sees stale positions only of the vertices other blocks move in the same round, a
/// 1 / `ROUNDS` share of the epoch's work: with one round per epoch the staleness cost about
/// 0.005 of 10-NN preservation on the demo layers (below umap-learn's floor on two of them);
/// with 64 every layer is within umap-learn's seed spread (`tests/embed_umap.rs`). Measured
/// with the shared negative batches (seed 42): 16 rounds put block14 at 0.2444, below the
/// floor 0.2448; 32 pass, but five of the six layers keep 0.001-0.003 less than with 64.
const ROUNDS: usize = 64;

/// How long a team task spins before it sleeps, waiting for a phase to end (see
/// [`Team::wait_for`]): about 20-40 µs. A spin is a `pause` natively (tens of cycles on
/// x86), next to nothing in wasm (two atomic loads), hence two counts.
#[cfg(all(feature = "parallel", target_arch = "wasm32"))]
const SPINS_BEFORE_SLEEP: usize = 1 << 14;
#[cfg(all(feature = "parallel", not(target_arch = "wasm32")))]
const SPINS_BEFORE_SLEEP: usize = 1 << 10;

/// The kernel's constants.
#[derive(Clone, Copy)]
struct Kernel {
    a: f32,
    b: f32,
    /// `2 a b` (attraction) and `2 gamma b` (repulsion), precomputed.
    two_ab: f32,
    two_gamma_b: f32,
}

/// A move of another block's vertex, applied at the end of the epoch.
#[derive(Clone, Copy)]
struct Move {
    vertex: u32,
    dx: f32,
    dy: f32,
}

/// One block: its vertices, the edges whose head it owns, its place in the current epoch,
/// its negative-sample stream and the moves it made of other blocks' vertices this epoch.
///
/// Invariant: the per-edge arrays all have `head.len()` entries, heads ascending within
/// `vertices`; an edge of weight 0 has `epoch_of_next_sample = +inf` and is never sampled.
#[repr(align(128))]
struct Block {
    vertices: Range<usize>,
    head: Vec<u32>,
    tail: Vec<u32>,
    epochs_per_sample: Vec<f32>,
    epoch_of_next_sample: Vec<f32>,
    epochs_per_negative_sample: Vec<f32>,
    epoch_of_next_negative_sample: Vec<f32>,
    rng: SampleRng,
    /// Negative samples due to `pending_head` and not drawn yet (fewer than
    /// [`NEGATIVE_BATCH`]); drawn when its last edge sampled in the round is done.
    pending: usize,
    pending_head: u32,
    /// `deferred[p][c]`: moves of block `c`'s vertices, in the order they were made, in
    /// the last round run with parity `p` (two sets, so a round's moves can be read while
    /// the next round records its own; the serial path uses set 0 only).
    deferred: [Vec<Vec<Move>>; 2],
    /// `own_tails[p]`: the block's own vertices moved as a tail in that round (besides the
    /// heads of its run), possibly repeated.
    own_tails: [Vec<u32>; 2],
    /// The set the current round records into.
    parity: usize,
}

/// What a block reads besides its own state during an epoch.
#[derive(Clone, Copy)]
struct EpochView<'a> {
    /// Every vertex's position at the start of the round, as (x, y) pairs.
    snapshot_xy: &'a [[f32; 2]],
    /// The block owning each vertex.
    owner: &'a [u8],
    kernel: Kernel,
    /// The epoch, as the schedule compares it.
    n: f32,
    alpha: f32,
}

/// The SGD state; the coordinates live with the caller (interleaved x, y).
pub(crate) struct Optimiser {
    blocks: Vec<Block>,
    /// Block `b` owns the vertices `vertex_starts[b]..vertex_starts[b + 1]`.
    vertex_starts: Vec<usize>,
    owner: Vec<u8>,
    /// The coordinates at the start of the current round.
    snapshot: Vec<f32>,
    /// The team's second coordinate buffer (see [`Optimiser::run_rounds_on_team`]).
    #[cfg(feature = "parallel")]
    back: Vec<f32>,
    /// Whether `snapshot` holds the start of the current round (the first is taken from the
    /// caller's coordinates at the first call, the others at the end of each round).
    snapshot_taken: bool,
    kernel: Kernel,
    initial_alpha: f64,
    /// The current round of the epoch.
    round: usize,
    pub n_epochs: usize,
    /// Current epoch.
    pub epoch: usize,
}

/// Parameters of the optimisation.
pub(crate) struct SgdSettings {
    pub a: f64,
    pub b: f64,
    pub gamma: f64,
    pub initial_alpha: f64,
    pub negative_sample_rate: usize,
    pub n_epochs: usize,
    pub seed: u64,
}

impl Optimiser {
    /// Edges `(head, tail, weight)` (each undirected edge twice), heads ascending (the
    /// graph's row order; other input is sorted by head first, keeping the order of each
    /// head's edges). Every vertex index must be below `n_vertices`.
    pub(crate) fn new(
        n_vertices: usize,
        edges: &[(u32, u32, f32)],
        settings: &SgdSettings,
    ) -> Optimiser {
        // The set-up's passes over the edges run on the rayon pool with the `parallel`
        // feature (each edge's values are its own; the checks and the maximum do not depend
        // on the order), so the same state on any thread count.
        let mut sorted;
        let in_order = edge_runs(edges.len(), |run| {
            edges[run.start.saturating_sub(1)..run.end]
                .windows(2)
                .all(|w| w[0].0 <= w[1].0)
        });
        let edges = if !in_order.contains(&false) {
            edges
        } else {
            sorted = edges.to_vec();
            sorted.sort_by_key(|e| e.0);
            &sorted[..]
        };
        let in_range = edge_runs(edges.len(), |run| {
            edges[run]
                .iter()
                .all(|e| (e.0 as usize) < n_vertices && (e.1 as usize) < n_vertices)
        });
        assert!(!in_range.contains(&false), "edges index vertices");
        let max_weight = edge_runs(edges.len(), |run| {
            edges[run].iter().map(|e| e.2 as f64).fold(0.0, f64::max)
        })
        .into_iter()
        .fold(0.0, f64::max);
        let n_epochs = settings.n_epochs;
        let rate = settings.negative_sample_rate as f64;
        // umap-learn's make_epochs_per_sample: n_epochs / (n_epochs * w / max_w), -1 when 0.
        let schedule_of = |e: &(u32, u32, f32)| {
            let n_samples = if max_weight > 0.0 {
                n_epochs as f64 * (e.2 as f64 / max_weight)
            } else {
                0.0
            };
            let (per_sample, per_negative) = if n_samples > 0.0 {
                let per_sample = n_epochs as f64 / n_samples;
                (
                    per_sample,
                    if rate > 0.0 {
                        per_sample / rate
                    } else {
                        f64::INFINITY
                    },
                )
            } else {
                (f64::INFINITY, f64::INFINITY)
            };
            (per_sample as f32, per_negative as f32)
        };
        let mut schedule: Vec<(f32, f32)> = Vec::with_capacity(edges.len());
        for run in edge_runs(edges.len(), |run| {
            edges[run].iter().map(schedule_of).collect::<Vec<_>>()
        }) {
            schedule.extend_from_slice(&run);
        }
        let vertex_starts = vertex_blocks(n_vertices, edges, &schedule, rate);
        let mut owner = vec![0u8; n_vertices];
        for (b, range) in vertex_starts.windows(2).enumerate() {
            owner[range[0]..range[1]].fill(b as u8);
        }
        let mut seeder = ChaCha8Rng::seed_from_u64(settings.seed ^ 0x756d_6170_5f73_6764);
        // Each block's vertices, edges and stream (drawn in block order), then its arrays.
        let mut first_edge = 0usize;
        let parts: Vec<(Range<usize>, Range<usize>, SampleRng)> = vertex_starts
            .windows(2)
            .map(|range| {
                let end_vertex = range[1];
                let end_edge = first_edge
                    + edges[first_edge..].partition_point(|e| (e.0 as usize) < end_vertex);
                let part = first_edge..end_edge;
                first_edge = end_edge;
                (
                    range[0]..range[1],
                    part,
                    SampleRng::new(&mut seeder, n_vertices),
                )
            })
            .collect();
        let block = |(vertices, part, rng): (Range<usize>, Range<usize>, SampleRng)| {
            let own = &edges[part.clone()];
            let own_schedule = &schedule[part];
            Block {
                vertices,
                head: own.iter().map(|e| e.0).collect(),
                tail: own.iter().map(|e| e.1).collect(),
                epochs_per_sample: own_schedule.iter().map(|s| s.0).collect(),
                epoch_of_next_sample: own_schedule.iter().map(|s| s.0).collect(),
                epochs_per_negative_sample: own_schedule.iter().map(|s| s.1).collect(),
                epoch_of_next_negative_sample: own_schedule.iter().map(|s| s.1).collect(),
                rng,
                pending: 0,
                pending_head: 0,
                deferred: [vec![Vec::new(); BLOCKS], vec![Vec::new(); BLOCKS]],
                own_tails: [Vec::new(), Vec::new()],
                parity: 0,
            }
        };
        #[cfg(feature = "parallel")]
        let blocks: Vec<Block> = {
            use rayon::prelude::*;
            parts.into_par_iter().map(block).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let blocks: Vec<Block> = parts.into_iter().map(block).collect();
        let (a, b, gamma) = (settings.a as f32, settings.b as f32, settings.gamma as f32);
        Optimiser {
            blocks,
            vertex_starts,
            owner,
            snapshot: vec![0.0; 2 * n_vertices],
            snapshot_taken: false,
            #[cfg(feature = "parallel")]
            back: Vec::new(),
            kernel: Kernel {
                a,
                b,
                two_ab: 2.0 * a * b,
                two_gamma_b: 2.0 * gamma * b,
            },
            initial_alpha: settings.initial_alpha,
            round: 0,
            n_epochs,
            epoch: 0,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.epoch >= self.n_epochs
    }

    /// Fraction of the epochs done.
    pub(crate) fn fraction(&self) -> f64 {
        (self.epoch as f64 + self.round as f64 / ROUNDS as f64) / self.n_epochs.max(1) as f64
    }

    /// Runs whole rounds until about `budget` updates (attractive + repulsive, a skipped
    /// edge counting as one) were made or the optimisation ends (at least one round when
    /// `budget > 0`). Returns true when every epoch is done. The result does not depend on
    /// how the work is split into calls, nor on the number of threads.
    pub(crate) fn advance(&mut self, coords: &mut [f32], budget: usize) -> bool {
        assert_eq!(
            coords.len(),
            self.snapshot.len(),
            "two coordinates per vertex"
        );
        if self.is_done() {
            return true;
        }
        if !self.snapshot_taken {
            self.snapshot.copy_from_slice(coords);
            self.snapshot_taken = true;
        }
        let first_round = self.epoch * ROUNDS + self.round;
        let rounds_left = self.n_epochs * ROUNDS - first_round;
        let rounds = self.run_rounds(coords, first_round, rounds_left, budget);
        let reached = first_round + rounds;
        self.epoch = reached / ROUNDS;
        self.round = reached % ROUNDS;
        self.is_done()
    }

    /// What the blocks read in global round `g` (`epoch * ROUNDS + round`).
    fn round_setting(&self, g: usize) -> RoundSetting {
        let epoch = g / ROUNDS;
        let alpha = if epoch == 0 {
            self.initial_alpha
        } else {
            self.initial_alpha * (1.0 - (epoch - 1) as f64 / self.n_epochs as f64)
        };
        RoundSetting {
            round: g % ROUNDS,
            n: epoch as f32,
            alpha: alpha as f32,
        }
    }

    /// Runs rounds `first_round..` (at most `rounds_left`) while fewer than `budget` updates
    /// were made; returns the rounds run.
    fn run_rounds(
        &mut self,
        coords: &mut [f32],
        first_round: usize,
        rounds_left: usize,
        budget: usize,
    ) -> usize {
        #[cfg(feature = "parallel")]
        {
            let threads = rayon::current_num_threads().min(BLOCKS);
            if threads > 1 {
                return self.run_rounds_on_team(coords, first_round, rounds_left, budget, threads);
            }
        }
        let mut spent = 0usize;
        let mut rounds = 0usize;
        while rounds < rounds_left && spent < budget {
            let setting = self.round_setting(first_round + rounds);
            let view = EpochView {
                snapshot_xy: self.snapshot.as_chunks::<2>().0,
                owner: &self.owner,
                kernel: self.kernel,
                n: setting.n,
                alpha: setting.alpha,
            };
            let parts = split_by_vertex(coords, &self.vertex_starts);
            for (block, own) in self.blocks.iter_mut().zip(parts) {
                spent += block.run_round(own, &view, setting.round, 0);
            }
            let parts = split_by_vertex(coords, &self.vertex_starts);
            let snapshot_parts = split_by_vertex(&mut self.snapshot, &self.vertex_starts);
            for (owner, (own, own_snapshot)) in parts.into_iter().zip(snapshot_parts).enumerate() {
                apply_moves(owner, &self.blocks, 0, self.vertex_starts[owner], own);
                own_snapshot.copy_from_slice(own);
            }
            rounds += 1;
        }
        rounds
    }

    /// [`Self::run_rounds`] on a team of `threads` tasks on the rayon pool, each taking the
    /// next block of the round as it comes: one hand-off to the pool per call instead of one
    /// per round, and one meeting per round. Round `k` of the call reads its start from
    /// buffer `k % 2` (the caller's coordinates, then `back`) and writes its blocks' live
    /// coordinates to the other; each task keeps its own copy of the round's snapshot,
    /// renewed from the last round's changes (its blocks' heads and own tails, then every
    /// recorded move, as [`apply_moves`] adds them), and a block starts from that copy of
    /// its vertices. The last round's moves are added when the call ends. A task that never
    /// starts leaves its share to the others (the blocks are claimed, not assigned), so the
    /// team cannot wait on it.
    #[cfg(feature = "parallel")]
    fn run_rounds_on_team(
        &mut self,
        coords: &mut [f32],
        first_round: usize,
        rounds_left: usize,
        budget: usize,
        threads: usize,
    ) -> usize {
        let settings: Vec<RoundSetting> = (0..rounds_left.min(budget.saturating_add(1)))
            .map(|k| self.round_setting(first_round + k))
            .collect();
        let round_spent: Vec<AtomicUsize> = settings.iter().map(|_| AtomicUsize::new(0)).collect();
        self.back.resize(coords.len(), 0.0);
        let team = Team {
            blocks: self.blocks.as_mut_ptr(),
            buffers: [coords.as_mut_ptr(), self.back.as_mut_ptr()],
            len: coords.len(),
            vertex_starts: &self.vertex_starts,
            owner: &self.owner,
            kernel: self.kernel,
            settings: &settings,
            round_spent: &round_spent,
            budget,
            ticket: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            bed: Mutex::new(()),
            wake: Condvar::new(),
        };
        rayon::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(|_| team.work());
            }
            team.work();
        });
        let rounds = team.done.load(Ordering::Acquire) / BLOCKS;
        if rounds > 0 {
            // The last round's live coordinates are in buffer `rounds % 2`; its moves are
            // still to be added.
            let last = (rounds - 1) % 2;
            if rounds % 2 == 1 {
                coords.copy_from_slice(&self.back);
            }
            apply_all_moves(&self.blocks, last, coords);
        }
        // The serial path's snapshot was not kept up to date.
        self.snapshot_taken = false;
        rounds
    }
}

/// The epoch and learning rate of one round.
#[derive(Clone, Copy)]
struct RoundSetting {
    /// The round within the epoch.
    round: usize,
    n: f32,
    alpha: f32,
}

/// Ends a round for one owner block: applies the moves of its vertices recorded by every
/// block (the blocks' lists in block order, each in the order it was made) to `own`, its
/// vertices' coordinates (`first` the first of them), and copies them to `own_snapshot`,
/// its part of the snapshot the next round reads.
fn apply_moves(owner: usize, blocks: &[Block], parity: usize, first: usize, own: &mut [f32]) {
    for block in blocks {
        for m in &block.deferred[parity][owner] {
            let local = 2 * (m.vertex as usize - first);
            own[local] += m.dx;
            own[local + 1] += m.dy;
        }
    }
}

/// Every vertex's recorded moves of the round run with `parity` added to `coords` (all
/// vertices): per vertex in the order [`apply_moves`] adds them (block order, then each
/// list's), so the same bits.
#[cfg(feature = "parallel")]
fn apply_all_moves(blocks: &[Block], parity: usize, coords: &mut [f32]) {
    for block in blocks {
        for list in &block.deferred[parity] {
            for m in list {
                let at = 2 * m.vertex as usize;
                coords[at] += m.dx;
                coords[at + 1] += m.dy;
            }
        }
    }
}

/// The rounds of one [`Optimiser::run_rounds_on_team`] call, shared by its tasks.
///
/// The work is a sequence of rounds of [`BLOCKS`] items (the blocks' runs). A task takes
/// the next item by a ticket (`ticket` counts the items taken, so item `t` is block
/// `t % BLOCKS` of round `t / BLOCKS`), waits until every item of the earlier rounds is done
/// (`done` counts them), runs it, and counts it done. In round `k` each block's state and
/// its vertices' coordinates in buffer `(k + 1) % 2` are touched by the one task holding
/// its ticket; buffer `k % 2` and the blocks' records of round `k - 1` (set `(k - 1) % 2`)
/// are only read, and nothing reads buffer `(k + 1) % 2` nor the set `k % 2` before the
/// round ends. The release on `done` and the acquire in the wait order the rounds.
#[cfg(feature = "parallel")]
struct Team<'a> {
    blocks: *mut Block,
    /// The caller's coordinates and the optimiser's `back` buffer.
    buffers: [*mut f32; 2],
    /// The length of the coordinates (and of each buffer).
    len: usize,
    vertex_starts: &'a [usize],
    owner: &'a [u8],
    kernel: Kernel,
    /// Round `k` of the call (the call runs at most `settings.len()`).
    settings: &'a [RoundSetting],
    /// Updates made by each round's blocks.
    round_spent: &'a [AtomicUsize],
    budget: usize,
    ticket: AtomicUsize,
    done: AtomicUsize,
    /// Set once a round is not to run: every task then stops.
    stop: AtomicBool,
    /// Tasks asleep in [`Team::wait_for`] (or about to be): a task ending a phase, or
    /// stopping the team, wakes them through `bed` and `wake` only when there are any.
    sleepers: AtomicUsize,
    bed: Mutex<()>,
    wake: Condvar,
}

// SAFETY: the pointers are used only as `Team`'s protocol describes (disjoint mutable
// access per item, rounds ordered by `done`); they point into the optimiser's blocks and
// `back` buffer and the caller's coordinates, all borrowed mutably by
// `run_rounds_on_team` for the team's whole life.
#[cfg(feature = "parallel")]
unsafe impl Sync for Team<'_> {}

#[cfg(feature = "parallel")]
impl Team<'_> {
    /// One task: items until the team stops.
    fn work(&self) {
        // This task's copy of the round's snapshot, and the round it holds. The blocks read
        // the snapshot at random (the negative samples, the tails); a copy per task stays in
        // this core's cache, renewed each round by the few values that changed.
        let mut replica: Vec<f32> = Vec::new();
        let mut replica_round = usize::MAX;
        // Updates of rounds `..summed_rounds`.
        let (mut summed_rounds, mut summed) = (0usize, 0usize);
        loop {
            let ticket = self.ticket.fetch_add(1, Ordering::Relaxed);
            let (k, item) = (ticket / BLOCKS, ticket % BLOCKS);
            if !self.wait_for(k * BLOCKS) {
                return;
            }
            if k < self.settings.len() {
                while summed_rounds < k {
                    summed += self.round_spent[summed_rounds].load(Ordering::Relaxed);
                    summed_rounds += 1;
                }
            }
            if k >= self.settings.len() || summed >= self.budget {
                self.stop.store(true, Ordering::SeqCst);
                self.wake_sleepers();
                return;
            }
            let setting = self.settings[k];
            // SAFETY: see `Team`: round `k` only reads buffer `k % 2` and the records of
            // round `k - 1`; this task holds block `item`'s ticket, so it alone touches the
            // block and its vertices in buffer `(k + 1) % 2`.
            let blocks = unsafe { std::slice::from_raw_parts(self.blocks.cast_const(), BLOCKS) };
            let source = unsafe { std::slice::from_raw_parts(self.buffers[k % 2], self.len) };
            if replica_round != k {
                if k > 0 && replica_round == k - 1 {
                    // The values the last round's blocks changed, then its moves.
                    let round = self.settings[k - 1].round;
                    for block in blocks {
                        let span = block.head_span(round);
                        replica[2 * span.start..2 * span.end]
                            .copy_from_slice(&source[2 * span.start..2 * span.end]);
                        for &v in &block.own_tails[(k - 1) % 2] {
                            let at = 2 * v as usize;
                            replica[at] = source[at];
                            replica[at + 1] = source[at + 1];
                        }
                    }
                } else {
                    replica.clear();
                    replica.extend_from_slice(source);
                }
                if k > 0 {
                    apply_all_moves(blocks, (k - 1) % 2, &mut replica);
                }
                replica_round = k;
            }
            let range = self.vertex_starts[item]..self.vertex_starts[item + 1];
            let (block, own) = unsafe {
                (
                    &mut *self.blocks.add(item),
                    std::slice::from_raw_parts_mut(
                        self.buffers[(k + 1) % 2].add(2 * range.start),
                        2 * range.len(),
                    ),
                )
            };
            own.copy_from_slice(&replica[2 * range.start..2 * range.end]);
            let snapshot = &replica[..];
            let view = EpochView {
                snapshot_xy: snapshot.as_chunks::<2>().0,
                owner: self.owner,
                kernel: self.kernel,
                n: setting.n,
                alpha: setting.alpha,
            };
            let spent = block.run_round(own, &view, setting.round, k % 2);
            self.round_spent[k].fetch_add(spent, Ordering::Relaxed);
            let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
            if done.is_multiple_of(BLOCKS) {
                self.wake_sleepers();
            }
        }
    }

    /// Waits until `target` items are done (true) or the team stops (false).
    ///
    /// Spins a while, then sleeps. Most waits are short: a phase ends when its last item
    /// does, and an item is 1 / `BLOCKS` of a round (about 15 µs at 50K points on 2 threads),
    /// so a wait that spins catches it without the tens of microseconds a sleeping thread
    /// takes to wake. But spinning must not go on: on a machine busier than its cores (or
    /// in a browser, where yielding does nothing) the spinner would burn the time slice the
    /// task it waits for needs. Sleeping is by a condition variable (futex natively,
    /// `memory.atomic.wait32` in wasm), entered only after registering in `sleepers`: the
    /// registration and the re-check of `done` under the lock, against the `SeqCst`
    /// increment of `done` (or store of `stop`) followed by the read of `sleepers` in
    /// [`Team::wake_sleepers`]'s caller, mean either the sleeper sees the new count or the
    /// waker sees the sleeper (and takes the lock to wake it), never neither.
    fn wait_for(&self, target: usize) -> bool {
        let ready = || {
            if self.done.load(Ordering::SeqCst) >= target {
                Some(true)
            } else if self.stop.load(Ordering::SeqCst) {
                Some(false)
            } else {
                None
            }
        };
        for _ in 0..SPINS_BEFORE_SLEEP {
            if let Some(outcome) = ready() {
                return outcome;
            }
            std::hint::spin_loop();
        }
        // A poisoned lock only means another task panicked; the unit it guards holds no data.
        let mut guard = self.bed.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let outcome = loop {
            if let Some(outcome) = ready() {
                break outcome;
            }
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Wakes the sleeping tasks, if any (after a phase's last item, or the stop).
    fn wake_sleepers(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.bed.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.notify_all();
        }
    }
}

/// The negative-sample stream's first `batches` batches from lanes `seeds` (made odd as
/// [`SampleRng::new`] makes them) over `n_vertices`, for `tests/wasm_kernels.rs` (the wasm
/// build's draws against the definition).
#[doc(hidden)]
pub fn sample_draws(seeds: [u32; NEGATIVE_BATCH], n_vertices: u32, batches: usize) -> Vec<u32> {
    let mut rng = SampleRng {
        lanes: seeds.map(|s| s | 1),
        n_vertices,
    };
    (0..batches).flat_map(|_| rng.next_batch()).collect()
}

/// Edges per task of the set-up's passes.
const EDGES_PER_TASK: usize = 32_768;

/// `f` of each run of at most [`EDGES_PER_TASK`] consecutive edge indices of `0..n_edges`,
/// in order ([`super::map_runs`]).
fn edge_runs<T: Send>(n_edges: usize, f: impl Fn(Range<usize>) -> T + Sync + Send) -> Vec<T> {
    super::map_runs(0..n_edges, EDGES_PER_TASK, f)
}

/// The blocks' vertex ranges: [`BLOCKS`] runs of consecutive vertices (some empty when there
/// are few vertices) of about equal expected work per epoch, an edge costing one compare plus
/// `(1 + rate) / epochs_per_sample` updates. Returns the `BLOCKS + 1` boundaries.
fn vertex_blocks(
    n_vertices: usize,
    edges: &[(u32, u32, f32)],
    schedule: &[(f32, f32)],
    rate: f64,
) -> Vec<usize> {
    // Work of the vertices before each vertex (edges sorted by head).
    let mut before = vec![0f64; n_vertices + 1];
    for (e, s) in edges.iter().zip(schedule) {
        let per_sample = s.0 as f64;
        let updates = if per_sample.is_finite() {
            (1.0 + rate) / per_sample
        } else {
            0.0
        };
        before[e.0 as usize + 1] += 1.0 + updates;
    }
    for v in 0..n_vertices {
        before[v + 1] += before[v];
    }
    let total = before[n_vertices];
    let mut starts = Vec::with_capacity(BLOCKS + 1);
    starts.push(0);
    for b in 1..BLOCKS {
        let target = total * b as f64 / BLOCKS as f64;
        let previous = *starts.last().unwrap_or(&0);
        starts.push(
            before[..n_vertices]
                .partition_point(|&w| w < target)
                .clamp(previous, n_vertices),
        );
    }
    starts.push(n_vertices);
    starts
}

/// The coordinates cut into the blocks' parts.
fn split_by_vertex<'a>(mut coords: &'a mut [f32], vertex_starts: &[usize]) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(vertex_starts.len() - 1);
    for range in vertex_starts.windows(2) {
        let (part, rest) = std::mem::take(&mut coords).split_at_mut(2 * (range[1] - range[0]));
        parts.push(part);
        coords = rest;
    }
    parts
}

impl Block {
    /// The vertices heading the edges of the block's run in round `round` (the heads it may
    /// have moved then).
    #[cfg(feature = "parallel")]
    fn head_span(&self, round: usize) -> Range<usize> {
        let n_edges = self.head.len();
        let (start, end) = (n_edges * round / ROUNDS, n_edges * (round + 1) / ROUNDS);
        if start < end {
            self.head[start] as usize..self.head[end - 1] as usize + 1
        } else {
            0..0
        }
    }

    /// Round `round` of the epoch: this block's run of edges, in order; `own` holds its
    /// vertices' live coordinates. Returns the updates made (a skipped edge counting as one).
    fn run_round(
        &mut self,
        own: &mut [f32],
        view: &EpochView,
        round: usize,
        parity: usize,
    ) -> usize {
        self.parity = parity;
        self.deferred[parity].iter_mut().for_each(Vec::clear);
        self.own_tails[parity].clear();
        let n_edges = self.head.len();
        let (start, end) = (n_edges * round / ROUNDS, n_edges * (round + 1) / ROUNDS);
        // Skipped edges count one each; sampled ones add their updates below.
        let mut spent = end - start;
        // The edges due, found [`DUE_GROUP`] at a time as a bit mask (compares without
        // branches, then one visit per set bit) instead of a branch per edge that the
        // predictor misses on about one edge in four. An edge's update changes only its own
        // schedule, so the mask taken before the group's updates is the serial one.
        let mut group = start;
        while group < end {
            let group_end = (group + DUE_GROUP).min(end);
            let mut due = due_mask(&self.epoch_of_next_sample[group..group_end], view.n);
            while due != 0 {
                let i = group + due.trailing_zeros() as usize;
                due &= due - 1;
                if self.pending > 0 && self.head[i] != self.pending_head {
                    self.flush_pending(own, view);
                }
                spent += self.update_edge(own, view, i);
            }
            group = group_end;
        }
        if self.pending > 0 {
            self.flush_pending(own, view);
        }
        spent
    }

    /// The head's remaining (fewer than [`NEGATIVE_BATCH`]) negative samples, after its last
    /// edge sampled in the round.
    fn flush_pending(&mut self, own: &mut [f32], view: &EpochView) {
        let j = self.pending_head as usize;
        let j_local = j - self.vertices.start;
        let (cx, cy) = (own[2 * j_local], own[2 * j_local + 1]);
        let (cx, cy) = repel(cx, cy, self.pending_head, self.pending, &mut self.rng, view);
        own[2 * j_local] = cx;
        own[2 * j_local + 1] = cy;
        self.pending = 0;
    }

    /// One attractive update of edge `i`, and its negative samples queued for the head;
    /// returns the number of negative samples due.
    ///
    /// A head's negative samples are evaluated in batches of [`NEGATIVE_BATCH`] from the
    /// head's current position and their (individually clipped) moves summed, where umap-learn
    /// moves the head after each one: the batch's arithmetic is independent, so it runs at
    /// SIMD throughput instead of at the latency of one long dependent chain. The samples due
    /// from the head's consecutive edges share batches (a full batch is drawn as soon as it is
    /// due, after the edge's pull; the rest after the head's last edge sampled in the round),
    /// so about 5 samples per edge fill the lanes instead of leaving 3 of 8 empty. The
    /// schedule (which edges, how many samples) is umap-learn's.
    #[inline]
    fn update_edge(&mut self, own: &mut [f32], view: &EpochView, i: usize) -> usize {
        let Kernel { a, b, two_ab, .. } = view.kernel;
        let (n, alpha) = (view.n, view.alpha);
        let first = self.vertices.start;
        let own_count = self.vertices.len();
        let j = self.head[i] as usize;
        let j_local = j - first;
        let k = self.tail[i] as usize;
        let k_local = k.wrapping_sub(first);
        let tail_is_own = k_local < own_count;
        // As (x, y) pairs, one bounds check per vertex (`own_count` of them, so a tail found
        // to be the block's own needs none).
        let own = &mut own.as_chunks_mut::<2>().0[..own_count];
        let [mut cx, mut cy] = own[j_local];
        let [ox, oy] = if tail_is_own {
            own[k_local]
        } else {
            view.snapshot_xy[k]
        };
        let (dx, dy) = (cx - ox, cy - oy);
        let dist_sq = dx * dx + dy * dy;
        if dist_sq > 0.0 {
            let pow_b = fast_pow(dist_sq, b);
            // -2ab d^(b-1) / (a d^b + 1), with d^(b-1) = d^b / d (d standing for dist_sq).
            let grad_coeff = -two_ab * pow_b / (dist_sq * (a * pow_b + 1.0));
            let gx = clip(grad_coeff * dx) * alpha;
            let gy = clip(grad_coeff * dy) * alpha;
            cx += gx;
            cy += gy;
            // (`parity` is 0 or 1; the mask spares the bounds check.)
            let parity = self.parity & 1;
            if tail_is_own {
                own[k_local] = [ox - gx, oy - gy];
                self.own_tails[parity].push(k as u32);
            } else {
                self.deferred[parity][view.owner[k] as usize].push(Move {
                    vertex: k as u32,
                    dx: -gx,
                    dy: -gy,
                });
            }
        }
        // (No update at distance 0: umap-learn's gradient is 0 there.)
        self.epoch_of_next_sample[i] += self.epochs_per_sample[i];
        let per_negative = self.epochs_per_negative_sample[i];
        // umap-learn's `int(max(0, due))`, through u32 and a compare (the same values: a NaN
        // or negative due is 0, and a round never has 2^32 samples due): `f32::max` is a libm
        // call in wasm and a float-to-u64 conversion a dozen x86 instructions.
        let due = (n - self.epoch_of_next_negative_sample[i]) / per_negative;
        let n_negative = if due > 0.0 { due as u32 } else { 0 };
        // The head's earlier edges' pending samples (if any) are the head's too.
        self.pending_head = j as u32;
        self.pending += n_negative as usize;
        while self.pending >= NEGATIVE_BATCH {
            (cx, cy) = repel(cx, cy, j as u32, NEGATIVE_BATCH, &mut self.rng, view);
            self.pending -= NEGATIVE_BATCH;
        }
        own[j_local] = [cx, cy];
        self.epoch_of_next_negative_sample[i] += n_negative as f32 * per_negative;
        n_negative as usize
    }
}

/// The head at `(cx, cy)` (vertex `head`) pushed away from `count <= NEGATIVE_BATCH` random
/// vertices, read from the round's snapshot: the summed moves, per vertex
/// `clip(2 gamma b / ((0.001 + d^2)(1 + a d^(2b))) * delta)`, times `alpha` once summed, zero at distance 0
/// and for a draw of the head itself (umap-learn's distance is 0 there). Returns the new
/// position.
///
/// Every lane draws and gathers (the draws are in range); lanes past `count` are masked
/// out. Straight-line lane loops over fixed arrays, so LLVM vectorises them (SSE natively,
/// simd128 in wasm); the sum is a fixed tree, so the result is fixed per build.
#[inline(always)]
fn repel(
    cx: f32,
    cy: f32,
    head: u32,
    count: usize,
    rng: &mut SampleRng,
    view: &EpochView,
) -> (f32, f32) {
    let Kernel {
        a, b, two_gamma_b, ..
    } = view.kernel;
    let alpha = view.alpha;
    let drawn = rng.next_batch();
    // One check per batch instead of one per draw: every draw is below `rng.n_vertices`.
    assert!(rng.n_vertices as usize <= view.snapshot_xy.len());
    let mut other_x = [0f32; NEGATIVE_BATCH];
    let mut other_y = [0f32; NEGATIVE_BATCH];
    for lane in 0..NEGATIVE_BATCH {
        debug_assert!(drawn[lane] < rng.n_vertices);
        // SAFETY: `next_batch` reduces each draw to `0..n_vertices` (a multiply-shift of a
        // u32 by `n_vertices`, below it), checked against the snapshot's length above.
        let [x, y] = unsafe { *view.snapshot_xy.get_unchecked(drawn[lane] as usize) };
        other_x[lane] = x;
        other_y[lane] = y;
    }
    let mut move_x = [0f32; NEGATIVE_BATCH];
    let mut move_y = [0f32; NEGATIVE_BATCH];
    for lane in 0..NEGATIVE_BATCH {
        let dx = cx - other_x[lane];
        let dy = cy - other_y[lane];
        let dist_sq = dx * dx + dy * dy;
        let coeff = two_gamma_b / ((0.001 + dist_sq) * (a * fast_pow(dist_sq, b) + 1.0));
        let keep = (dist_sq > 0.0) & ((lane as u32) < count as u32) & (drawn[lane] != head);
        let coeff = if keep { coeff } else { 0.0 };
        move_x[lane] = clip(coeff * dx);
        move_y[lane] = clip(coeff * dy);
    }
    // The learning rate once for the batch's sum (the same for every lane).
    (
        cx + tree_sum(&move_x) * alpha,
        cy + tree_sum(&move_y) * alpha,
    )
}

/// The eight lanes summed as a fixed tree (three dependent adds, not seven).
#[inline(always)]
fn tree_sum(v: &[f32; NEGATIVE_BATCH]) -> f32 {
    let quad = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
    (quad[0] + quad[2]) + (quad[1] + quad[3])
}

/// The negative-sample vertex stream: [`NEGATIVE_BATCH`] xorshift32 lanes (Marsaglia's
/// 13, 17, 5), each seeded once from ChaCha8 and stepped once per batch, a draw reduced to
/// `0..n_vertices` by multiply-shift (bias below `n / 2^32`). Shifts and xors only, so a
/// batch's draws take a few vector operations (umap-learn uses a small Tausworthe
/// generator here). Every lane steps for every batch, used or not, so the stream depends
/// only on the number of batches.
struct SampleRng {
    lanes: [u32; NEGATIVE_BATCH],
    n_vertices: u32,
}

impl SampleRng {
    fn new(seeder: &mut ChaCha8Rng, n_vertices: usize) -> SampleRng {
        let mut lanes = [0u32; NEGATIVE_BATCH];
        for lane in &mut lanes {
            // A zero state would stay zero.
            *lane = seeder.next_u32() | 1;
        }
        SampleRng {
            lanes,
            n_vertices: n_vertices as u32,
        }
    }

    /// The next [`NEGATIVE_BATCH`] draws, each in `0..n_vertices`. In wasm this stays the
    /// scalar loop LLVM makes of it (a 64-bit multiply per draw): an explicit simd128 form
    /// (two 4-lane xorshift steps, `u64x2.extmul`) was slower in V8, whose `i64x2.mul` LLVM
    /// emitted for two of the four lanes: node, 20K x 256, one thread, SGD 2.95 s against
    /// 2.54 s for this loop (four interleaved runs each, same bits).
    #[inline(always)]
    fn next_batch(&mut self) -> [u32; NEGATIVE_BATCH] {
        let mut out = [0u32; NEGATIVE_BATCH];
        let n = u64::from(self.n_vertices);
        for (lane, slot) in self.lanes.iter_mut().zip(&mut out) {
            let mut x = *lane;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *lane = x;
            *slot = ((u64::from(x) * n) >> 32) as u32;
        }
        out
    }
}

/// Edges whose schedule is tested at once by [`due_mask`].
const DUE_GROUP: usize = 64;

/// Bit `e` set when edge `e` of `next_sample` (at most [`DUE_GROUP`]) is due at epoch `n`
/// (`!(next > n)`, the serial test), eight lanes at a time.
// `!(next > n)` on purpose: the serial skip test is `next > n`, and its negation is what
// makes an edge due (a NaN schedule would be due in both).
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline(always)]
fn due_mask(next_sample: &[f32], n: f32) -> u64 {
    let mut mask = 0u64;
    let (chunks, rest) = next_sample.as_chunks::<8>();
    for (c, chunk) in chunks.iter().enumerate() {
        let mut bits = 0u32;
        for (lane, &next) in chunk.iter().enumerate() {
            bits |= u32::from(!(next > n)) << lane;
        }
        mask |= u64::from(bits) << (8 * c);
    }
    for (lane, &next) in rest.iter().enumerate() {
        mask |= u64::from(!(next > n)) << (8 * chunks.len() + lane);
    }
    mask
}

#[inline(always)]
fn clip(v: f32) -> f32 {
    // min/max (not f32::clamp) so the lane loops vectorise; inputs are finite.
    let v = if v > 4.0 { 4.0 } else { v };
    if v < -4.0 {
        -4.0
    } else {
        v
    }
}

/// `x^p` for `x > 0` as `exp2(p log2 x)` with polynomial kernels (relative error below 3e-4
/// for `p <= 2`, |p log2 x| < 125); only `+ - *`, selects and bit operations,
/// so it vectorises and gives the same bits on every platform.
#[inline(always)]
pub(crate) fn fast_pow(x: f32, p: f32) -> f32 {
    fast_exp2(
        p * fast_log2(if x > f32::MIN_POSITIVE {
            x
        } else {
            f32::MIN_POSITIVE
        }),
    )
}

/// log2 of a positive normal `x`: exponent plus a degree-4 polynomial in `m - 1` with the
/// mantissa `m` reduced to `[sqrt(1/2), sqrt(2))` (Chebyshev interpolation, absolute error
/// 1.2e-4; degree 5 had 1.7e-5 for two more operations per call).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the polynomial's coefficients as fitted (their f32 values)
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    // Subtracting the bits of sqrt(1/2) puts the mantissa in [sqrt(1/2), sqrt(2)).
    let offset = bits.wrapping_sub(0x3f35_04f3);
    let exponent = (offset as i32) >> 23;
    let mantissa = f32::from_bits(bits.wrapping_sub((exponent as u32) << 23));
    let t = mantissa - 1.0;
    // Estrin's scheme: independent pairs, then one level (a shorter dependent chain than
    // Horner's; the SGD waits on it).
    let t2 = t * t;
    let low = 6.560_976_2e-5 + t * 1.441_833_1;
    let high = -0.727_187_35 + t * 0.515_635_6;
    let poly = low + t2 * (high + t2 * -0.313_762_7);
    exponent as f32 + poly
}

/// 2^y for `y` clamped to [-125, 125]: integer part into the exponent bits, fraction in
/// [-0.5, 0.5] by a degree-3 polynomial (Chebyshev interpolation, relative error 1.0e-4;
/// degree 4 had 2.8e-6 for two more operations per call).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the polynomial's coefficients as fitted (their f32 values)
fn fast_exp2(y: f32) -> f32 {
    let y = if y < -125.0 { -125.0 } else { y };
    let y = if y > 125.0 { 125.0 } else { y };
    // Round to nearest by the 1.5 * 2^23 trick: the low mantissa bits of `shifted` hold the
    // integer (two's complement), no float-to-int conversion needed.
    const ROUNDER: f32 = 12_582_912.0;
    let shifted = y + ROUNDER;
    let whole = shifted - ROUNDER;
    let f = y - whole;
    // Estrin's scheme, as in `fast_log2`.
    let f2 = f * f;
    let poly = (0.999_924_54 + f * 0.693_136_75) + f2 * (0.242_639_48 + f * 0.055_838_283);
    let int_bits = shifted.to_bits().wrapping_sub(ROUNDER.to_bits());
    f32::from_bits(poly.to_bits().wrapping_add(int_bits << 23))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pow_is_accurate() {
        for &p in &[0.8006f32, 0.895, 1.334, 1.0, 2.0] {
            for &x in &[1e-8f32, 1e-3, 0.1, 0.5, 1.0, 1.5, 3.0, 17.0, 1e3, 1e6] {
                let exact = (x as f64).powf(p as f64);
                let got = fast_pow(x, p) as f64;
                assert!(
                    ((got - exact) / exact).abs() < 3e-4,
                    "{x}^{p}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn an_edge_pulls_its_ends_together() {
        let settings = SgdSettings {
            a: 1.9,
            b: 0.8,
            gamma: 1.0,
            initial_alpha: 1.0,
            negative_sample_rate: 0,
            n_epochs: 20,
            seed: 1,
        };
        let mut opt = Optimiser::new(2, &[(0, 1, 1.0), (1, 0, 1.0)], &settings);
        let mut coords = vec![0.0f32, 0.0, 5.0, 0.0];
        assert!(opt.advance(&mut coords, usize::MAX));
        assert!((coords[2] - coords[0]).abs() < 5.0);
    }

    /// A symmetric random graph of `n` vertices (8 random partners each, so most tails lie
    /// in another block), its edges by head, and random start coordinates in [0, 10).
    fn random_graph(n: usize, seed: u64) -> (Vec<(u32, u32, f32)>, Vec<f32>) {
        use crate::numeric::random::SplitMix64;
        let mut rng = SplitMix64::new(seed);
        let mut pairs = std::collections::BTreeMap::new();
        for i in 0..n as u64 {
            for _ in 0..8 {
                let j = rng.next_u64() % n as u64;
                if j != i {
                    let weight = 0.05 + 0.95 * (rng.centred_uniform() + 0.5) as f32;
                    pairs.insert((i.min(j) as u32, i.max(j) as u32), weight);
                }
            }
        }
        let mut edges: Vec<(u32, u32, f32)> = pairs
            .iter()
            .flat_map(|(&(i, j), &w)| [(i, j, w), (j, i, w)])
            .collect();
        edges.sort_by_key(|e| (e.0, e.1));
        let coords = (0..2 * n)
            .map(|_| 10.0 * (rng.centred_uniform() + 0.5) as f32)
            .collect();
        (edges, coords)
    }

    fn settings(n_epochs: usize) -> SgdSettings {
        SgdSettings {
            a: 1.93,
            b: 0.79,
            gamma: 1.0,
            initial_alpha: 1.0,
            negative_sample_rate: 5,
            n_epochs,
            seed: 9,
        }
    }

    fn run(edges: &[(u32, u32, f32)], start: &[f32], budget: usize) -> Vec<f32> {
        let mut opt = Optimiser::new(start.len() / 2, edges, &settings(12));
        let mut coords = start.to_vec();
        let mut calls = 0;
        while !opt.advance(&mut coords, budget) {
            calls += 1;
            assert!(opt.fraction() < 1.0);
        }
        assert!(
            budget > 1_000_000 || calls > 10,
            "the budget splits the work"
        );
        coords
    }

    #[test]
    fn the_result_does_not_depend_on_the_steps() {
        let (edges, start) = random_graph(700, 4);
        let whole = run(&edges, &start, usize::MAX);
        assert!(whole.iter().all(|v| v.is_finite()));
        assert_ne!(whole, start);
        for budget in [1, 37, 5_000] {
            let stepped = run(&edges, &start, budget);
            assert!(
                whole
                    .iter()
                    .zip(&stepped)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "budget {budget}"
            );
        }
    }

    /// The blocks run on rayon's pool with the `parallel` feature: the same bits on 1, 2 and
    /// 3 threads (and, by `tests/parallel_feature.rs`, without the feature).
    #[cfg(feature = "parallel")]
    #[test]
    fn the_result_does_not_depend_on_the_threads() {
        let (edges, start) = random_graph(900, 5);
        let on = |threads: usize, budget: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool")
                .install(|| run(&edges, &start, budget))
        };
        let one = on(1, 20_000);
        // Budgets of one round per call and of several (odd and even counts of rounds).
        for (threads, budget) in [(2, 20_000), (3, 20_000), (2, 1), (2, 7_000)] {
            let many = on(threads, budget);
            assert!(
                one.iter()
                    .zip(&many)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{threads} threads, budget {budget}"
            );
        }
    }

    #[test]
    fn blocks_share_the_work_and_own_their_heads() {
        let (edges, _) = random_graph(1_000, 6);
        let opt = Optimiser::new(1_000, &edges, &settings(200));
        assert_eq!(opt.blocks.len(), BLOCKS);
        assert_eq!(opt.vertex_starts.first(), Some(&0));
        assert_eq!(opt.vertex_starts.last(), Some(&1_000));
        let mut seen = 0;
        for (b, block) in opt.blocks.iter().enumerate() {
            assert_eq!(
                block.vertices,
                opt.vertex_starts[b]..opt.vertex_starts[b + 1]
            );
            assert!(block
                .head
                .iter()
                .all(|&h| block.vertices.contains(&(h as usize))));
            assert!(block.vertices.clone().all(|v| opt.owner[v] as usize == b));
            // About 1,000 / 32 vertices each (equal work, similar degrees).
            assert!(
                (15..=50).contains(&block.vertices.len()),
                "{:?}",
                block.vertices
            );
            seen += block.head.len();
        }
        assert_eq!(seen, edges.len());
        // Fewer vertices than blocks: empty blocks, still a valid run.
        let (small, start) = random_graph(10, 7);
        let mut opt = Optimiser::new(10, &small, &settings(5));
        let mut coords = start.clone();
        assert!(opt.advance(&mut coords, usize::MAX));
        assert!(coords.iter().all(|v| v.is_finite()));
    }
}
