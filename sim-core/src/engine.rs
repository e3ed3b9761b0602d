//! The event loop: a virtual clock, the pending-event set, and a stepping API.
//!
//! A [`Model`] owns the world's state and a closed `enum` of events; the [`Simulation`] pops the
//! earliest event, advances the clock to it and hands it to [`Model::handle`] together with the
//! [`Scheduler`], through which the model schedules what follows. There are no callbacks, no
//! string-keyed handlers and no shared mutable world beyond the model itself.
//!
//! **Ordering guarantee**: events run in order of time; events at the same time run in the order
//! they were scheduled (first in, first out), whatever their kind.

use crate::queue::RadixHeap;
use crate::time::{SimDuration, SimTime};

/// The clock and the pending events, as a model sees them while handling an event.
#[derive(Debug)]
pub struct Scheduler<E> {
    now: SimTime,
    queue: RadixHeap<E>,
    processed: u64,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
    /// An empty schedule at time zero.
    pub fn new() -> Self {
        Scheduler { now: SimTime::ZERO, queue: RadixHeap::new(), processed: 0 }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at` (not before now; an earlier time is a logic error).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "event scheduled in the past: {at:?} < {:?}", self.now);
        self.queue.push(at.0, event);
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) {
        self.queue.push((self.now + delay).0, event);
    }

    /// Number of events pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Number of events handled so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Time of the next pending event.
    pub fn next_time(&self) -> Option<SimTime> {
        self.queue.peek_key().map(SimTime)
    }
}

/// A world that reacts to its events.
pub trait Model {
    /// The closed set of things that can happen (small and `Copy`: events are stored by value in
    /// the pending-event set).
    type Event: Copy;

    /// Reacts to `event`, which happens at `scheduler.now()`.
    fn handle(&mut self, event: Self::Event, scheduler: &mut Scheduler<Self::Event>);

    /// A look at the event that will most likely be handled after the one about to be: the model
    /// may start loading what that event will read (see [`Simulation::run_until`]). It must
    /// change nothing the simulation can observe (the event may not come next after all: the
    /// current one may schedule an earlier one). Does nothing by default.
    #[inline(always)]
    fn prefetch(&self, _next: &Self::Event) {}

    /// Whether [`Model::prefetch`] does anything: when it does not (the default), the engine does
    /// not look for the next event at all (the look is cheap, but not free on a small world).
    const PREFETCHES: bool = false;
}

/// A model and its schedule, driven step by step or until a time.
///
/// ```
/// use fulcrum_sim_core::engine::{Model, Scheduler, Simulation};
/// use fulcrum_sim_core::{SimDuration, SimTime};
///
/// /// Ticks once a second, counting.
/// struct Ticker(u32);
/// impl Model for Ticker {
///     type Event = ();
///     fn handle(&mut self, _: (), s: &mut Scheduler<()>) {
///         self.0 += 1;
///         s.schedule_in(SimDuration::from_secs_f64(1.0), ());
///     }
/// }
///
/// let mut sim = Simulation::new(Ticker(0));
/// sim.scheduler_mut().schedule_at(SimTime::ZERO, ());
/// sim.run_until(SimTime::from_secs_f64(9.5));
/// assert_eq!(sim.model().0, 10); // t = 0, 1, …, 9
/// assert_eq!(sim.now(), SimTime::from_secs_f64(9.5));
/// ```
#[derive(Debug)]
pub struct Simulation<M: Model> {
    model: M,
    scheduler: Scheduler<M::Event>,
}

impl<M: Model> Simulation<M> {
    /// A simulation of `model` with nothing scheduled yet.
    pub fn new(model: M) -> Self {
        Simulation { model, scheduler: Scheduler::new() }
    }

    /// A simulation of `model` with events already scheduled on `scheduler`.
    pub fn with_scheduler(model: M, scheduler: Scheduler<M::Event>) -> Self {
        Simulation { model, scheduler }
    }

    /// Ends the simulation, returning the model.
    pub fn into_model(self) -> M {
        self.model
    }

    /// The model, to inspect between steps.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, to change between steps (e.g. a reinforcement-learning agent acting).
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The schedule, to seed initial events.
    pub fn scheduler_mut(&mut self) -> &mut Scheduler<M::Event> {
        &mut self.scheduler
    }

    /// The schedule.
    pub fn scheduler(&self) -> &Scheduler<M::Event> {
        &self.scheduler
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.scheduler.now
    }

    /// Handles the next event. Returns false if none was pending.
    #[inline]
    pub fn step(&mut self) -> bool {
        match self.scheduler.queue.pop() {
            Some((t, event)) => {
                self.scheduler.now = SimTime(t);
                self.scheduler.processed += 1;
                if M::PREFETCHES {
                    if let Some(next) = self.scheduler.queue.peek_near() {
                        self.model.prefetch(next);
                    }
                }
                self.model.handle(event, &mut self.scheduler);
                true
            }
            None => false,
        }
    }

    /// Handles up to `n` events; returns how many were handled.
    pub fn steps(&mut self, n: u64) -> u64 {
        let mut done = 0;
        while done < n && self.step() {
            done += 1;
        }
        done
    }

    /// Handles every event at or before `until`, then sets the clock to `until` (if it is later).
    ///
    /// Before handling an event, it shows the model the next one when that is cheap to find
    /// ([`Model::prefetch`]), so that the loads of the two overlap: in a large world each
    /// event's state is most likely a cache miss.
    pub fn run_until(&mut self, until: SimTime) {
        while let Some((t, event)) = self.scheduler.queue.pop_at_most(until.0) {
            self.scheduler.now = SimTime(t);
            self.scheduler.processed += 1;
            if M::PREFETCHES {
                if let Some(next) = self.scheduler.queue.peek_near() {
                    self.model.prefetch(next);
                }
            }
            self.model.handle(event, &mut self.scheduler);
        }
        if until > self.scheduler.now {
            self.scheduler.now = until;
        }
    }
}
